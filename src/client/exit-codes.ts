// The exit codes, and the one place that turns a batch's outcome into one.

export const EXIT = {
  ok: 0,
  /**
   * Some items failed or were cancelled, the batch ended otherwise than completed, it stopped with items not run (its
   * budget is spent), or a request found it finished.
   */
  someFailed: 1,
  /** Bad usage or input, or a request the batch refused: nothing was done. */
  badInput: 2,
  temporalUnreachable: 3,
  /** No worker polls the batch's task queue (or none answered in time), so nothing was done. */
  noWorker: 4,
} as const;

/** A user error: printed as is, exit code 2, nothing started (its home is below the CLI and the items reader). */
export { UsageError } from '../shared/usage-error';

/** A batch's bucket cannot be reached: printed as is, exit code 3 (its home is beside the bucket's other failures). */
export { StorageUnreachable } from '../storage/bucket-errors';

/** No worker polls a batch's task queue, or none answered in time: printed as is, exit code 4. */
export class NoWorker extends Error {
  name = 'NoWorker';
}

/** What the exit code of a batch depends on: its status and, once it has ended, its counts. */
export interface OutcomeForExit {
  status: string;
  counts: { failed: number; cancelled: number } | null;
}

/**
 * 0 when the batch completed with nothing failed or cancelled (or has not ended yet: running, detached), else 1:
 * a stopped batch (open, its budget spent) has items that did not run.
 */
export function exitCodeFor(o: OutcomeForExit): number {
  if (o.status === 'running' || o.status === 'detached') return EXIT.ok;
  const clean = o.status === 'completed' && o.counts !== null && !o.counts.failed && !o.counts.cancelled;
  return clean ? EXIT.ok : EXIT.someFailed;
}

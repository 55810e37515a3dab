// How a batch is put in words where people look first (its result, the Web UI's details, the CLI's headline): a batch
// with failures never reads like a clean success.
import { etaWords } from './batch-eta';

interface Counts {
  total: number;
  succeeded: number;
  failed: number;
  cancelled: number;
}

/**
 * "completed", "completed with 2 failed, 1 cancelled", "cancelled with 1 failed": the status, and what went wrong
 * beside it (a cancelled batch's cancelled items go without saying).
 */
export function outcomeHead(status: string, c: Omit<Counts, 'total' | 'succeeded'>): string {
  const wrong = [
    c.failed ? `${c.failed} failed` : '',
    status !== 'cancelled' && c.cancelled ? `${c.cancelled} cancelled` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return wrong ? `${status} with ${wrong}` : status;
}

/** "completed with 2 failed: 8 of 10 succeeded" (the result's `outcome`). */
export function outcomeWords(status: string, c: Counts): string {
  const cancelled = status === 'cancelled' && c.cancelled ? `, ${c.cancelled} cancelled` : '';
  return `${outcomeHead(status, c)}: ${c.succeeded} of ${c.total} succeeded${cancelled}`;
}

/** The batch's Web UI details while it runs: "12/100 done · 3 failed · ETA 4 min". */
export function progressDetails(
  p: Counts & { running: number; queued: number; paused: boolean; cancelRequested: boolean; eta?: string },
  now: number,
): string {
  const done = p.succeeded + p.failed + p.cancelled;
  return [
    `${done}/${p.total} done`,
    p.failed ? `${p.failed} failed` : '',
    p.cancelled ? `${p.cancelled} cancelled` : '',
    `${p.running} running`,
    p.queued ? `${p.queued} queued` : '',
    p.paused ? 'paused' : '',
    p.cancelRequested ? 'cancelling' : '',
    p.eta ? etaWords(p.eta, now) : '',
  ]
    .filter(Boolean)
    .join(' · ');
}

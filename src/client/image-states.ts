// Counts of a batch's items per state: queued, waiting for a provider slot, generating, succeeded, failed,
// cancelled. "generating" includes fetching the image: one activity polls the task and downloads the image the
// moment it is done, so no workflow knows a separate downloading phase. The batch knows all but how its running
// images split; each image child keeps that in its
// ImageState search attribute, so the split is counted through visibility. The dev server's SQL visibility answers
// `GROUP BY` only for ExecutionStatus, so it is one count per state; visibility lags the batch by a moment, so the
// split is clamped to what the batch says runs.
import type { WorkflowClient } from '@temporalio/client';
import type { BatchProgress } from '../shared/batch-types';
import { progressWatch } from './progress-watch';

export interface StateCounts {
  queued: number;
  waiting: number;
  generating: number;
  succeeded: number;
  failed: number;
  cancelled: number;
}

/** How many of the batch's running images wait for a slot (the rest generate). */
export interface RunningSplit {
  waiting: number;
}

type Counts = Pick<BatchProgress, 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled'>;

/** The per-state counts: the batch's own, with its running images split as visibility last said (none: all generate). */
export function stateCounts(c: Counts, split?: RunningSplit): StateCounts {
  const waiting = Math.min(split?.waiting ?? 0, c.running);
  return {
    queued: c.queued,
    waiting,
    generating: c.running - waiting,
    succeeded: c.succeeded,
    failed: c.failed,
    cancelled: c.cancelled,
  };
}

/** The visibility query for the batch's running children in these states (ids are safe names; quoted anyway). */
export function stateQuery(batchId: string, states: string[]): string {
  const quote = (s: string) => `'${s.replace(/['\\]/g, (c) => `\\${c}`)}'`;
  return `ImageBatchId = ${quote(batchId)} AND ImageState IN (${states.map(quote).join(', ')}) AND ExecutionStatus = 'Running'`;
}

/** A child the batch has just started (`queued`) has no slot yet either: it counts as waiting for one. */
const WAITING = ['queued', 'waiting'];

/** Counts the running split; undefined when visibility does not answer (the counts then show no split). */
export async function runningSplit(workflows: WorkflowClient, batchId: string): Promise<RunningSplit | undefined> {
  try {
    return { waiting: (await workflows.count(stateQuery(batchId, WAITING))).count };
  } catch {
    return undefined;
  }
}

/** A progress display asks again at most this often: counting is a visibility query per state. */
const EVERY_MS = 2000;

/** Keeps runningSplit fresh in the background for a progress display (a count that fails keeps the last one). */
export const splitWatch = (workflows: WorkflowClient, batchId: string) =>
  progressWatch<RunningSplit | undefined>(undefined, EVERY_MS, (p, latest) =>
    p.running ? runningSplit(workflows, batchId).then((s) => s ?? latest) : undefined,
  );

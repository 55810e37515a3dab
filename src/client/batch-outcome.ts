// How a batch ended, read from its workflow: the summary it returned, or how it closed without one.
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure, TerminatedFailure, TimeoutFailure } from '@temporalio/common';
import type { BatchProgress, BatchSummary } from '../shared/batch-types';
import type { BatchHandle } from './batch-lookup';

export type BatchOutcome =
  | { kind: 'finished'; summary: BatchSummary }
  /** Closed without a summary: cancelled from outside (Web UI, `temporal workflow cancel`), terminated, failed. */
  | { kind: 'closed'; status: 'cancelled' | 'terminated' | 'timed out' | 'failed'; reason: string }
  /** Open, but nothing more starts until someone acts (its budget is spent): `progress.stopped` says why. */
  | { kind: 'stopped'; progress: BatchProgress }
  /** The user stopped following it; it goes on on the server. */
  | { kind: 'detached' };

export function statusOf(outcome: BatchOutcome): string {
  if (outcome.kind === 'finished') return outcome.summary.status;
  return outcome.kind === 'closed' ? outcome.status : outcome.kind;
}

/** A running batch that will start nothing more until it is resumed, and has nothing in flight: following it ends. */
export function isStopped(p: BatchProgress): boolean {
  return Boolean(p.stopped) && p.running === 0 && !p.done;
}

/** Waits for the batch's result (following continue-as-new). Connection errors are thrown, for the caller to retry. */
export async function outcomeOf(handle: BatchHandle): Promise<BatchOutcome> {
  try {
    return { kind: 'finished', summary: await handle.result() };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const cause = err.cause;
    const reason = cause?.message || err.message;
    if (cause instanceof CancelledFailure) return { kind: 'closed', status: 'cancelled', reason };
    if (cause instanceof TerminatedFailure) return { kind: 'closed', status: 'terminated', reason };
    if (cause instanceof TimeoutFailure) return { kind: 'closed', status: 'timed out', reason };
    return { kind: 'closed', status: 'failed', reason };
  }
}

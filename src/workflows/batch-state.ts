// The state a batch starts from; BatchLedger owns it from then on, and continue-as-new carries it.
import type { BatchInput, BatchState } from '../shared/batch-types';

export function initialState(input: BatchInput): BatchState {
  return {
    cursor: 0,
    requeued: [],
    inFlight: {},
    counts: { succeeded: 0, failed: 0, cancelled: 0, skipped: 0 },
    failedIds: [],
    cancelledIds: [],
    skipIds: [],
    retryRounds: {},
    recentFailures: [],
    concurrency: input.concurrency,
    paused: false,
    cancelRequested: false,
    startedAt: new Date().toISOString(),
    runs: 1,
    ...(input.maxSubmissions !== undefined
      ? { maxSubmissions: input.maxSubmissions, submissions: 0, reserved: {} }
      : {}),
  };
}

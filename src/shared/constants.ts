// Names shared by workflows, workers and clients.

export const TASK_QUEUE = 'imagebatch';

/** Pinned because later tags add a `replace` directive, which `go install` refuses. */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

/** The seeds' defaults (RedBookContentGen async mode). */
export const DEFAULT_POLICY = {
  pollIntervalMs: 5_000,
  maxWaitMs: 180_000,
  retries: 3,
  simplifications: 2,
  expectedLatencyMs: 5_000,
} as const;

export const DEFAULT_CONCURRENCY = 3;

/** The server refuses more than 2000 pending children in one run. */
export const MAX_CONCURRENCY = 2000;

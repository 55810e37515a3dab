// Names shared by workflows, workers and clients.

export const TASK_QUEUE = 'imagebatch';

/** Pinned because later tags add a `replace` directive, which `go install` refuses. */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

export const DEFAULT_CONCURRENCY = 3;

/** The server refuses more than 2000 pending children in one run. */
export const MAX_CONCURRENCY = 2000;

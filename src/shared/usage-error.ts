// The user's own mistake (a wrong flag, a missing file, a request the batch refused): printed as is, exit code 2,
// nothing started. Thrown by the CLI and by the items reader, so it lives below both.

export class UsageError extends Error {
  name = 'UsageError';
}

export const EXIT = {
  ok: 0,
  someFailed: 1,
  badInput: 2,
  temporalUnreachable: 3,
} as const;

/** A user error: printed as is, exit code 2, nothing started. */
export class UsageError extends Error {
  name = 'UsageError';
}

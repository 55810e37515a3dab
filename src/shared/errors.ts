// Failure types: provider errors are thrown by activities as ApplicationFailure with these `type`s,
// and workflow code decides what to do by type.

export const ErrorType = {
  /** Moderation rejected the prompt (at submit, or the task failed on it): simplify and resubmit. */
  ContentRejected: 'ContentRejected',
  /** The output image was rejected in a way the provider marks retryable (Volcengine 50511/50519): new seed. */
  OutputRejected: 'OutputRejected',
  /** 429 and friends: retried, honouring retry-after. */
  RateLimited: 'RateLimited',
  /** 5xx, timeouts, malformed bodies: retried with backoff. */
  Transient: 'Transient',
  /** The request itself is wrong: fail the item at once. */
  InvalidRequest: 'InvalidRequest',
  /** Credentials, permissions, quota or billing: fail the item at once. */
  AuthFailed: 'AuthFailed',
  /** The provider no longer knows the task (not found, expired): resubmit within the retry budget. */
  TaskGone: 'TaskGone',
  /** The remote task failed for a reason other than moderation: resubmit within the retry budget. */
  TaskFailed: 'TaskFailed',
  /** Not an error: the task is still queued or running. The collect activity's retry policy is the poll loop. */
  TaskPending: 'TaskPending',
  /** The downloaded image is unusable (too large, wrong magic bytes, truncated, bad URL): resubmit. */
  BadImage: 'BadImage',
  /** Not the item's fault: its share of the batch's submission budget is spent. The batch queues it again. */
  BudgetReached: 'BudgetReached',
  /**
   * The output folder cannot be written (no space left, read-only, not a folder): the item fails with the reason,
   * never resubmitted (the provider was paid), and the batch pauses until someone makes room and resumes it.
   */
  LocalStorage: 'LocalStorage',
} as const;

export type ErrorTypeName = (typeof ErrorType)[keyof typeof ErrorType];

/** Errors that the activity retry policy must not retry: the workflow decides. */
export const NON_RETRYABLE_ERRORS: ErrorTypeName[] = [
  ErrorType.ContentRejected,
  ErrorType.OutputRejected,
  ErrorType.InvalidRequest,
  ErrorType.AuthFailed,
  ErrorType.TaskGone,
  ErrorType.TaskFailed,
  ErrorType.BadImage,
  ErrorType.LocalStorage,
];

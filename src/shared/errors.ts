// Failure types: provider errors are thrown by activities as ApplicationFailure with these `type`s, and workflow code
// decides what to do by type. What each type means for the retry policy, the budget, a resubmission and fallback is
// written once, in FAILURES below.

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
  /** Never thrown: the image workflow's reading of an activity that ran out of the item's max wait. */
  MaxWaitExceeded: 'MaxWaitExceeded',
  /** The batch's items file changed under its copy in the batch folder: paging it in again cannot help. */
  ItemsFileChanged: 'ItemsFileChanged',
} as const;

export type ErrorTypeName = (typeof ErrorType)[keyof typeof ErrorType];

/** What a failure of one type means. */
export interface FailureMeaning {
  /** The activity's retry policy tries again (with backoff, within the max wait); if not, the workflow decides. */
  retriedByActivity: boolean;
  /** The provider may have done (and billed) the work: a synchronous call that failed so counts against the budget. */
  billed: boolean;
  /**
   * What the image's next submission changes, within its retries: `simpler-prompt` (within its simplifications
   * instead), `new-seed`, `as-is`; `never`: nothing another submission could fix, the image ends.
   */
  resubmit: 'simpler-prompt' | 'new-seed' | 'as-is' | 'never';
  /**
   * With a provider to fall back to: `at-once` (this one cannot serve the item now: outage, limit, credentials),
   * `when-spent` (once the retries, or the simplifications, are used up; for moderation only when the batch asks),
   * `never` (the request is wrong, the budget is spent, the disk is full: the next would fail too).
   */
  moveOn: 'at-once' | 'when-spent' | 'never';
}

const meaning = (
  retriedByActivity: boolean,
  billed: boolean,
  resubmit: FailureMeaning['resubmit'],
  moveOn: FailureMeaning['moveOn'],
): FailureMeaning => ({ retriedByActivity, billed, resubmit, moveOn });

/** Every failure type's meaning, in one table. */
export const FAILURES: Record<ErrorTypeName, FailureMeaning> = {
  //                                   retried billed  resubmit          move on
  [ErrorType.ContentRejected]: meaning(false, false, 'simpler-prompt', 'when-spent'),
  [ErrorType.OutputRejected]: meaning(false, true, 'new-seed', 'when-spent'),
  [ErrorType.RateLimited]: meaning(true, false, 'as-is', 'at-once'),
  [ErrorType.Transient]: meaning(true, true, 'as-is', 'at-once'),
  [ErrorType.InvalidRequest]: meaning(false, false, 'never', 'never'),
  [ErrorType.AuthFailed]: meaning(false, false, 'never', 'at-once'),
  [ErrorType.TaskGone]: meaning(false, true, 'as-is', 'when-spent'),
  [ErrorType.TaskFailed]: meaning(false, true, 'as-is', 'when-spent'),
  [ErrorType.TaskPending]: meaning(true, true, 'as-is', 'when-spent'),
  [ErrorType.BadImage]: meaning(false, true, 'as-is', 'when-spent'),
  [ErrorType.BudgetReached]: meaning(false, false, 'never', 'never'),
  // Paid for, but no resubmission: a full disk must not burn paid submissions either.
  [ErrorType.LocalStorage]: meaning(false, true, 'never', 'never'),
  [ErrorType.MaxWaitExceeded]: meaning(false, true, 'as-is', 'at-once'),
  [ErrorType.ItemsFileChanged]: meaning(false, false, 'never', 'never'),
};

/** Any other failure (an unclassified error, a dead worker): retried, maybe billed, resubmitted. */
const UNKNOWN: FailureMeaning = meaning(true, true, 'as-is', 'when-spent');

/** What a failure of this type means; an unknown type means what an unclassified error does. */
export function failureMeaning(type: string): FailureMeaning {
  return Object.hasOwn(FAILURES, type) ? FAILURES[type as ErrorTypeName] : UNKNOWN;
}

/** The failure types an activity's retry policy must not retry: the workflow decides. */
export const NON_RETRYABLE_ERRORS: ErrorTypeName[] = (Object.keys(FAILURES) as ErrorTypeName[]).filter(
  (type) => !FAILURES[type].retriedByActivity,
);

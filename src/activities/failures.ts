// Provider errors to Temporal failures: the `type` drives the retry policy and the workflow's decisions.
import { ApplicationFailure } from '@temporalio/activity';
import { ApplicationFailureCategory } from '@temporalio/common';
import { ErrorType, failureMeaning } from '../shared/errors';
import { redactSecrets } from '../providers/redact';
import { ProviderError } from '../providers/types';

/** Provider text enters history through failure messages: at most this much of it (Temporal keeps 4 KB). */
export const MAX_MESSAGE_CHARS = 2000;

export function truncated(message: string): string {
  return message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS)}… (cut)` : message;
}

/**
 * What of a text may leave the activity (a failure's message): the worker's credentials and anything shaped like one
 * redacted (a provider may echo the key or the Authorization header), then cut. Redacted first, so no cut leaves half
 * a key behind.
 */
export function outgoing(text: string, env?: NodeJS.ProcessEnv): string {
  return truncated(redactSecrets(text, env));
}

/** A provider's error as a failure; any other error keeps its class, with its message made outgoing too. */
export function toFailure(err: unknown): unknown {
  if (!(err instanceof ProviderError)) {
    // The SDK sends the message, the stack (which repeats it) and the causes.
    for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
      e.message = outgoing(e.message);
      if (e.stack) e.stack = redactSecrets(e.stack);
    }
    return err;
  }
  return ApplicationFailure.create({
    type: err.type,
    message: outgoing(err.message),
    nonRetryable: !failureMeaning(err.type).retriedByActivity,
    // Honour Retry-After on 429s; other retryable errors use the policy's backoff.
    nextRetryDelay: err.type === ErrorType.RateLimited ? (err.details.retryAfterMs ?? 2000) : undefined,
    details: [{ code: err.details.code ?? null, httpStatus: err.details.httpStatus ?? null }],
  });
}

/** "Not ready yet": retried by the collect activity's policy, which is the poll loop. BENIGN keeps it quiet. */
export function taskPending(taskId: string, state: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: ErrorType.TaskPending,
    message: `task ${taskId} is ${state}`,
    category: ApplicationFailureCategory.BENIGN,
  });
}

export function badImage(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: ErrorType.BadImage, message, nonRetryable: true });
}

export async function classified<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toFailure(err);
  }
}

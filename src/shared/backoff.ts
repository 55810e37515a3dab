// The project's one backoff: 1 s, doubling, at most 30 s. Activity retry policies use it as a policy, the workflows
// that wait themselves (a synchronous provider's call retried by the image, a throttled submit) as a delay.

export const BACKOFF = { initialMs: 1000, coefficient: 2, maximumMs: 30_000 } as const;

/** The wait before the n-th try again (n from 1). */
export function backoffMs(n: number): number {
  return Math.min(BACKOFF.maximumMs, BACKOFF.initialMs * BACKOFF.coefficient ** Math.max(0, n - 1));
}

/** The same backoff as an activity retry policy's fields. */
export const BACKOFF_RETRY = {
  initialInterval: BACKOFF.initialMs,
  backoffCoefficient: BACKOFF.coefficient,
  maximumInterval: BACKOFF.maximumMs,
} as const;

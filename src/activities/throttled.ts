// A provider's throttle while the image holds an account slot: answered to the workflow (it waits for a slot again and
// the account learns the limit) rather than retried by the activity.
import { ApplicationFailure, log } from '@temporalio/activity';
import { msToNumber } from '@temporalio/common/lib/time';
import { ErrorType } from '../shared/errors';
import type { ProviderKind } from '../shared/types';

export function throttledAnswer(
  input: { itemId: string; provider: ProviderKind; throttledIsAnswer?: boolean },
  err: unknown,
): { throttled: { retryAfterMs?: number } } | undefined {
  if (!input.throttledIsAnswer || !(err instanceof ApplicationFailure) || err.type !== ErrorType.RateLimited) return;
  log.info('throttled by the provider', { itemId: input.itemId, provider: input.provider });
  return { throttled: { retryAfterMs: err.nextRetryDelay == null ? undefined : msToNumber(err.nextRetryDelay) } };
}

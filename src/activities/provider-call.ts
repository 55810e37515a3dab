// One call to a provider on an item's behalf (a submit, or a synchronous provider's generation): its reference images
// loaded, its errors classified, and a throttle answered to the workflow when the image holds an account slot (it
// waits for a slot again and the account learns the limit) rather than retried by the activity.
import { ApplicationFailure, log } from '@temporalio/activity';
import { msToNumber } from '@temporalio/common/lib/time';
import { type GenerateRequest, invalidRequest } from '../providers/types';
import { ErrorType } from '../shared/errors';
import type { ImageRequestSpec, ProviderKind } from '../shared/types';
import { measuredCall } from '../metrics/provider-metrics';
import { classified } from './failures';
import { loadReferenceImages } from './references';

export interface ProviderCallInput {
  itemId: string;
  provider: ProviderKind;
  request: ImageRequestSpec;
  throttledIsAnswer?: boolean;
}

export type ThrottledAnswer = { throttled: { retryAfterMs?: number } };

/** `call` gets the request as providers take it, and the item's ComfyUI graph path apart (only ComfyUI reads it). */
export async function callProvider<T>(
  input: ProviderCallInput,
  call: (request: GenerateRequest, workflow: string | undefined) => Promise<T>,
): Promise<T | ThrottledAnswer> {
  try {
    return await classified(async () => {
      let referenceImages;
      try {
        referenceImages = await loadReferenceImages(input.request.referenceImages);
      } catch (err) {
        throw invalidRequest((err as Error).message);
      }
      const { workflow, ...request } = input.request;
      return measuredCall(input.provider, () => call({ ...request, referenceImages }, workflow));
    });
  } catch (err) {
    const throttled = throttledAnswer(input, err);
    if (throttled) return throttled;
    throw err;
  }
}

function throttledAnswer(input: ProviderCallInput, err: unknown): ThrottledAnswer | undefined {
  if (!input.throttledIsAnswer || !(err instanceof ApplicationFailure) || err.type !== ErrorType.RateLimited) return;
  log.info('throttled by the provider', { itemId: input.itemId, provider: input.provider });
  return { throttled: { retryAfterMs: err.nextRetryDelay == null ? undefined : msToNumber(err.nextRetryDelay) } };
}

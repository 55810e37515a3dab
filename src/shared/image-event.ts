// One image that ended, as the batch tells of it: a line of `imagebatch events` and the body of an image's webhook
// delivery (`--webhook-events image`). One shape for both, built here from the image's result.
import type { ImageItem, ImageResult, ProviderKind } from './types';

export interface ImageEvent {
  type: 'image';
  itemId: string;
  /** A variant of an item with `n` or `seeds`: the item it is one of, and which (1-based). */
  group?: string;
  variant?: number;
  status: ImageResult['status'];
  file?: string;
  sha256?: string;
  provider: ProviderKind;
  model?: string;
  /** The prompt of the last submission (a moderation rewrite's, if there was one). */
  prompt?: string;
  /** Provider submissions made for it. */
  attempts: number;
  seed?: number;
  error?: string;
  errorType?: string;
  /** When the batch heard of it (ISO time). */
  endedAt: string;
}

/** An image's webhook delivery waiting to be POSTed, with its delivery id (the same on every try). */
export interface ImageDelivery {
  id: string;
  event: ImageEvent;
}

/** Which variant of which item an image is (items with `n` or `seeds`). */
export type ItemVariant = Pick<ImageItem, 'group' | 'variant'>;

/** The event of an image that ended with result `r`; `item` (its group and variant) when known. */
export function imageEvent(r: ImageResult, item: ItemVariant | undefined, endedAt: string): ImageEvent {
  const event: ImageEvent = {
    type: 'image',
    itemId: r.itemId,
    group: item?.group,
    variant: item?.variant,
    status: r.status,
    file: r.file,
    sha256: r.sha256,
    provider: r.provider,
    model: r.model,
    prompt: r.prompts.at(-1),
    attempts: r.attempts,
    seed: r.seed,
    error: r.error,
    errorType: r.errorType,
    endedAt,
  };
  return Object.fromEntries(Object.entries(event).filter(([, v]) => v !== undefined)) as ImageEvent;
}

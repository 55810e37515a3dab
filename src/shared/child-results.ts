// What the batch records for an image workflow that closed without reporting, whether the batch saw it close (its
// own children) or asked the server (children an earlier run started, the closedChildren activity).
import { ApplicationFailure } from '@temporalio/common';
import type { ImageResult, ProviderKind } from './types';

/** The failure type an image workflow fails with; its details carry the item's ImageResult. */
export const IMAGE_FAILED = 'ImageFailed';

/** The ImageResult an image workflow failed with, given its failure's cause; undefined for any other failure. */
export function failedImageResult(cause: unknown): ImageResult | undefined {
  if (cause instanceof ApplicationFailure && cause.type === IMAGE_FAILED) return cause.details?.[0] as ImageResult;
  return undefined;
}

/** The item's result when its workflow closed with none: terminated, timed out, cancelled or gone. */
export function childClosedResult(o: {
  itemId: string;
  provider: ProviderKind;
  childId: string;
  /** How it closed, in words: 'terminated', 'timed out', ... */
  how: string;
  cancelled: boolean;
  prompts: string[];
}): ImageResult {
  return {
    itemId: o.itemId,
    status: o.cancelled ? 'cancelled' : 'failed',
    provider: o.provider,
    attempts: 0,
    prompts: o.prompts,
    error: `its workflow ${o.childId} closed without a result: ${o.how}`,
    errorType: 'ChildClosed',
  };
}

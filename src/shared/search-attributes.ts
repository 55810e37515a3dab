import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const ImageBatchId = defineSearchAttributeKey('ImageBatchId', SearchAttributeType.KEYWORD);
export const ImageState = defineSearchAttributeKey('ImageState', SearchAttributeType.KEYWORD);
export const ImageProvider = defineSearchAttributeKey('ImageProvider', SearchAttributeType.KEYWORD);

/** What the dev server registers at start (`--search-attribute NAME=Keyword`). */
export const SEARCH_ATTRIBUTES = [ImageBatchId, ImageState, ImageProvider];

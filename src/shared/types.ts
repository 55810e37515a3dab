// Types shared by workflows, activities, providers and the CLI.
import type { ImageItem, ImagePolicy, ImageRequestSpec } from './item-schema';
import type { AccountRef } from './accounts';
import type { ProviderKind } from './providers';

export { PROVIDER_KINDS, type ProviderKind } from './providers';
export type { ImageItem, ImagePolicy, ImageRequestSpec } from './item-schema';

export interface ImageWorkflowInput {
  batchId: string;
  item: ImageItem;
  provider: ProviderKind;
  /** Folder the image goes into: `<out>/<batchId>`. */
  outDir: string;
  policy: ImagePolicy;
  /** Workflow id of the batch to signal the result to (by id, so it reaches the current run). */
  reportTo?: string;
  /** The provider account whose slot the image holds from its submit until its task has ended. */
  account?: AccountRef;
  /** Submissions the image may make (its share of the batch's budget); past it, it ends as BudgetReached. */
  maxSubmissions?: number;
}

export type ImageStatus = 'succeeded' | 'failed' | 'cancelled';

export type ImageState =
  'queued' | 'waiting' | 'submitted' | 'generating' | 'downloading' | 'succeeded' | 'failed' | 'cancelled';

/** What one item ended as: metadata only, never image bytes. */
export interface ImageResult {
  itemId: string;
  status: ImageStatus;
  file?: string;
  sha256?: string;
  bytes?: number;
  provider: ProviderKind;
  providerTaskId?: string;
  model?: string;
  /** Provider submissions made for this item: accepted ones and those the provider refused (moderation). */
  attempts: number;
  /** Of those, the tasks the provider accepted: what a submission budget counts. */
  tasks?: number;
  /** Every prompt tried, the original first. */
  prompts: string[];
  /** The output already existed: the provider was not called. */
  skipped?: boolean;
  error?: string;
  errorType?: string;
}

/** What the collect activity returns after writing the file. */
export interface StoredImage {
  file: string;
  sha256: string;
  bytes: number;
  mime: string;
}

export interface OutputTarget {
  outDir: string;
  itemId: string;
  filename?: string;
}

export interface SubmitImageInput extends OutputTarget {
  provider: ProviderKind;
  request: ImageRequestSpec;
  /** The image holds an account slot: a throttle is answered (the workflow waits for a slot), not retried here. */
  throttledIsAnswer?: boolean;
}

/** Either the output is already on disk (the provider is not called), or a provider task was created. */
export type SubmitImageOutput =
  | { existing: StoredImage }
  | { taskId: string; model: string }
  /** Only with `throttledIsAnswer`: the provider refused the submit for its limit. */
  | { throttled: { retryAfterMs?: number } };

export interface ProviderTaskRef {
  provider: ProviderKind;
  taskId: string;
  model: string;
}

export interface CollectImageInput extends OutputTarget, ProviderTaskRef {}

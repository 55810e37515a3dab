// Types shared by workflows, activities, providers and the CLI.
import type { ImageItem, ImagePolicy, ImageRequestSpec } from './item-schema';
import type { AccountRef } from './accounts';
import type { ProviderKind } from './providers';

export { PROVIDER_KINDS, type ProviderKind } from './providers';
export type { ImageItem, ImagePolicy, ImageRequestSpec } from './item-schema';

/**
 * `import-tasks`: the provider task another tool submitted (and paid for), which the image collects instead of
 * submitting. Carried on the item, so the batch hands it to the image as it is; absent in every other image.
 */
export interface AdoptedTask {
  taskId: string;
  /** The folder the image goes into instead of the batch's (the task file's `output_path`). */
  outDir: string;
  /** When the provider no longer knows the task (or it failed), submit the item afresh; else the image fails. */
  resubmit?: boolean;
}

export interface ImageWorkflowInput {
  batchId: string;
  item: ImageItem & { adopt?: AdoptedTask };
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
  /**
   * The image's slot of `account` comes from its batch's lease (reportTo): `held`, it starts holding one; else it
   * waits for the batch to give it one. Absent: the image asks the account for its own slot.
   */
  lease?: { held: boolean };
  /** No `account` yet (the batch was still opening it): the image opens its provider's account itself. */
  openAccount?: boolean;
  /** The accounts the batch's client named (it held their credentials): a provider's images run on that one only. */
  accounts?: AccountRef[];
  /** Fallback: the providers to try in order, `provider` first (absent: only `provider`). */
  providers?: ProviderKind[];
  /** Move to the next provider on a moderation refusal too (after simplification could not help). */
  fallbackOnModeration?: boolean;
}

/** A provider an item was sent to, and why it moved on from it (absent for the one that made the image). */
export interface ProviderTry {
  provider: ProviderKind;
  /** The error type that made the item move on (RateLimited, MaxWaitExceeded, Transient, AuthFailed, ...). */
  errorType?: string;
  reason?: string;
}

/**
 * How an image was made, written into the image file (PNG chunks, or a sidecar JSON): what the workflow knows.
 * The activity adds provider, model and task id.
 */
export interface ImageMetadata {
  batchId: string;
  itemId: string;
  /** The prompt that made the image (the last of `prompts`). */
  prompt: string;
  negativePrompt?: string;
  /** Every prompt tried, the original first. */
  prompts: string[];
  seed?: number;
  width?: number;
  height?: number;
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
  /** The stored image's own size, as stored (the manifest says it without reading the image again). */
  imageSize?: StoredImageSize;
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
  /** Sent through OpenAI's Batch API (`--batch-api`): each line billed at the batch rate, half the price of a call. */
  batchApi?: boolean;
  error?: string;
  errorType?: string;
  /** Fallback: every provider tried, in order, with why the item moved on (only when more than one was tried). */
  tried?: ProviderTry[];
  /** The seed sent with the request that made the image (the item's, or the one a retry moved to). */
  seed?: number;
}

/** An image's own width and height, from its header. */
export interface StoredImageSize {
  width: number;
  height: number;
}

/** What the collect activity returns after writing the file. */
export interface StoredImage {
  /** A path, or an `s3://` URL when the batch is in a bucket. */
  file: string;
  sha256: string;
  bytes: number;
  mime: string;
  /** Absent when its header says none (and in older histories). */
  imageSize?: StoredImageSize;
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
  /**
   * `attempts`: the activity's attempts that made the task (activity Info.attempt). Those before it failed, some
   * after the provider may have taken the submit (a 5xx, a cut connection): each is counted as possibly paid.
   * Absent in older histories: one.
   */
  | { taskId: string; model: string; attempts?: number }
  /** Only with `throttledIsAnswer`: the provider refused the submit for its limit. */
  | { throttled: { retryAfterMs?: number } };

export interface ProviderTaskRef {
  provider: ProviderKind;
  taskId: string;
  model: string;
}

export interface CollectImageInput extends OutputTarget, ProviderTaskRef {
  /** Written into the image file (absent in histories recorded before metadata existed). */
  meta?: ImageMetadata;
}

/** A synchronous provider's one call: the request in, the stored image out. */
export interface GenerateImageInput extends OutputTarget {
  provider: ProviderKind;
  request: ImageRequestSpec;
  meta?: ImageMetadata;
  /** As for a submit: the image holds an account slot, a throttle is answered rather than retried here. */
  throttledIsAnswer?: boolean;
}

export type GenerateImageOutput =
  { existing: StoredImage } | { stored: StoredImage; model: string } | { throttled: { retryAfterMs?: number } };

// Types shared by workflows, activities, providers and the CLI.

export type ProviderKind = 'volcengine' | 'dashscope';
export const PROVIDER_KINDS: ProviderKind[] = ['volcengine', 'dashscope'];

/** One line of the items file, validated. */
export interface ImageItem {
  id: string;
  prompt: string;
  negativePrompt?: string;
  width?: number;
  height?: number;
  seed?: number;
  style?: string;
  /** Local paths or http(s) URLs; read by the activity, never carried as bytes in history. */
  referenceImages?: string[];
  /** Output file name (without folder); default `<id>.<ext>`. */
  filename?: string;
  provider?: ProviderKind;
  /** Volcengine req_key or DashScope model name. */
  model?: string;
  params?: Record<string, unknown>;
  /** Per-item policy overrides. */
  policy?: Partial<ImagePolicy>;
}

export interface ImagePolicy {
  pollIntervalMs: number;
  maxWaitMs: number;
  /** Resubmissions after a lost, failed or timed-out task. */
  retries: number;
  /** Prompt simplifications after moderation rejections. */
  simplifications: number;
  /** How long to wait (a durable timer) before the first poll. */
  expectedLatencyMs: number;
}

export interface ImageWorkflowInput {
  batchId: string;
  item: ImageItem;
  provider: ProviderKind;
  /** Folder the image goes into: `<out>/<batchId>`. */
  outDir: string;
  policy: ImagePolicy;
  /** Workflow id of the batch to signal the result to (by id, so it reaches the current run). */
  reportTo?: string;
}

export type ImageStatus = 'succeeded' | 'failed' | 'cancelled';

export type ImageState = 'queued' | 'submitted' | 'generating' | 'downloading' | 'succeeded' | 'failed' | 'cancelled';

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
  /** Provider submissions made for this item. */
  attempts: number;
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

/** What the submit activity sends: the item's request, with reference images still as paths or URLs. */
export interface ImageRequestSpec {
  prompt: string;
  negativePrompt?: string;
  width?: number;
  height?: number;
  seed?: number;
  style?: string;
  model?: string;
  params?: Record<string, unknown>;
  referenceImages?: string[];
}

export interface OutputTarget {
  outDir: string;
  itemId: string;
  filename?: string;
}

export interface SubmitImageInput extends OutputTarget {
  provider: ProviderKind;
  request: ImageRequestSpec;
}

/** Either the output is already on disk (the provider is not called), or a provider task was created. */
export type SubmitImageOutput = { existing: StoredImage } | { taskId: string; model: string };

export interface ProviderTaskRef {
  provider: ProviderKind;
  taskId: string;
  model: string;
}

export interface CollectImageInput extends OutputTarget, ProviderTaskRef {}

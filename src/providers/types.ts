// The provider interface: plain async functions over HTTP, nothing of Temporal.
import { ErrorType, type ErrorTypeName } from '../shared/errors';
import type { AccountIdentity } from './account';
import type { ComfyWorkflow } from './comfyui/graph-types';
import type { ImageRequestSpec, ProviderKind } from '../shared/types';

export interface ReferenceImage {
  /** An http(s) URL the provider can fetch itself. */
  url?: string;
  /** Raw base64 (no data: prefix) of a local file. */
  base64?: string;
  mime?: string;
}

/** The item's request as a provider receives it: reference images loaded (local files as base64). */
export type GenerateRequest = Omit<ImageRequestSpec, 'referenceImages'> & { referenceImages?: ReferenceImage[] };

export interface SubmittedTask {
  taskId: string;
  /** Volcengine's req_key must be sent again with every query, so it is kept with the task. */
  model: string;
}

export type ImageRef = { url: string } | { base64: string };

export type TaskStatus =
  { state: 'pending' | 'running' } | { state: 'done'; images: ImageRef[] } | { state: 'failed'; error: ProviderError };

/** What a submit may carry besides the request; a provider uses what it can and ignores the rest. */
export interface SubmitOptions {
  /**
   * The same for every attempt of one submit (workflow, run and activity id): a provider that takes a client id
   * (ComfyUI's prompt_id) derives it from this, so a retried submit finds its job instead of making a second.
   */
  idempotencyKey?: string;
  /** ComfyUI: the item's own graph and mapping (loaded by the activity from the item's `workflow` file). */
  workflow?: ComfyWorkflow;
}

export interface ImageProviderClient {
  readonly kind: ProviderKind;
  submit(req: GenerateRequest, signal?: AbortSignal, opts?: SubmitOptions): Promise<SubmittedTask>;
  status(task: SubmittedTask, signal?: AbortSignal): Promise<TaskStatus>;
  cancel(task: SubmittedTask, signal?: AbortSignal): Promise<void>;
  /** The account this client's tasks count against (endpoint and credential fingerprint). */
  account(): AccountIdentity;
}

/** What a synchronous provider answers: the images and the model that made them. */
export interface GeneratedImages {
  images: ImageRef[];
  model: string;
}

/**
 * A synchronous provider (OpenAI-compatible Images): one long call returns the image, there is no task to poll
 * or cancel. Aborting `signal` abandons the call (and, at providers that notice, the generation).
 */
export interface SyncImageProviderClient {
  readonly kind: ProviderKind;
  generate(req: GenerateRequest, signal?: AbortSignal): Promise<GeneratedImages>;
  account(): AccountIdentity;
}

/** A classified provider error. `type` is one of ErrorType; the activity layer maps it to a Temporal failure. */
export class ProviderError extends Error {
  constructor(
    readonly type: ErrorTypeName,
    message: string,
    readonly details: { code?: string | number; httpStatus?: number; retryAfterMs?: number } = {},
  ) {
    super(message);
    this.name = type;
  }
}

export const contentRejected = (m: string, d?: ProviderError['details']) =>
  new ProviderError(ErrorType.ContentRejected, m, d);
export const outputRejected = (m: string, d?: ProviderError['details']) =>
  new ProviderError(ErrorType.OutputRejected, m, d);
export const rateLimited = (m: string, d?: ProviderError['details']) => new ProviderError(ErrorType.RateLimited, m, d);
export const transient = (m: string, d?: ProviderError['details']) => new ProviderError(ErrorType.Transient, m, d);
export const invalidRequest = (m: string, d?: ProviderError['details']) =>
  new ProviderError(ErrorType.InvalidRequest, m, d);
export const authFailed = (m: string, d?: ProviderError['details']) => new ProviderError(ErrorType.AuthFailed, m, d);
export const taskGone = (m: string, d?: ProviderError['details']) => new ProviderError(ErrorType.TaskGone, m, d);
export const taskFailed = (m: string, d?: ProviderError['details']) => new ProviderError(ErrorType.TaskFailed, m, d);

// fal.ai queue API over plain HTTP: POST {base}/{model}, then {base}/{owner}/{app}/requests/{id}[/status|/cancel].
// Not fal's JS client: it retries a submit by itself (up to 3 times), and each of those may be a paid request; here
// a submit is sent once, with `x-fal-no-retry: 1` so fal's queue does not rerun it either, and the retry decision
// stays with the caller, who knows what was already paid for.
import { type AccountIdentity, credentialFingerprint } from '../account';
import { httpJson, type HttpJsonResponse } from '../http';
import {
  type GenerateRequest,
  type ImageProviderClient,
  type ImageRef,
  type SubmittedTask,
  type TaskStatus,
  authFailed,
  contentRejected,
  invalidRequest,
  taskFailed,
  taskGone,
  transient,
} from '../types';
import { FAL_ENV } from './env';
import { falHttpError, falResultError } from './errors';

export const FAL_DEFAULT_QUEUE_URL = 'https://queue.fal.run';
export const FAL_DEFAULT_MODEL = 'fal-ai/flux/schnell';

export interface FalOptions {
  queueUrl?: string;
  apiKey?: string;
  timeoutMs?: number;
}

export function falOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): FalOptions {
  return { queueUrl: env[FAL_ENV.endpoint] || FAL_DEFAULT_QUEUE_URL, apiKey: env[FAL_ENV.credentials.apiKey] };
}

/** The input keys imagebatch sets itself, each with the item field that sets it (or why it is fixed). */
export const FAL_RESERVED_PARAMS: Readonly<Record<string, string>> = {
  prompt: 'prompt',
  negative_prompt: 'negativePrompt',
  seed: 'seed',
  image_size: 'width and height',
  image_url: 'referenceImages',
  image_urls: 'referenceImages',
  num_images: 'imagebatch asks for one image per task (each image is billed)',
  sync_mode: 'imagebatch takes image URLs and downloads them itself',
};

/** The model's input: the item's fields as fal's image models name them, over the item's params. */
export function buildFalInput(req: GenerateRequest): Record<string, unknown> {
  const input: Record<string, unknown> = { prompt: req.prompt, num_images: 1 };
  if (req.negativePrompt) input.negative_prompt = req.negativePrompt;
  // -1 is the items file's "any seed": fal draws one when none is sent.
  if (req.seed !== undefined && req.seed >= 0) input.seed = req.seed;
  if (req.width && req.height) input.image_size = { width: req.width, height: req.height };
  // fal fetches image inputs by URL and takes data URIs the same way.
  const refs = (req.referenceImages ?? []).map((r) => r.url ?? `data:${r.mime ?? 'image/png'};base64,${r.base64}`);
  if (refs.length === 1) input.image_url = refs[0];
  else if (refs.length > 1) input.image_urls = refs;
  const extras = Object.entries(req.params ?? {}).filter(([k]) => !Object.hasOwn(FAL_RESERVED_PARAMS, k));
  return { ...Object.fromEntries(extras), ...input };
}

const SEGMENT = /^(?!\.{1,2}$)[A-Za-z0-9._-]+$/;

/** `owner/app[/sub/path]`; the sub-path is for the submit only, status and result live under `owner/app`. */
export function falAppId(model: string): string {
  const parts = model.split('/');
  if (parts.length < 2 || !parts.every((p) => SEGMENT.test(p))) {
    throw invalidRequest(`fal model '${model}' is not an app id such as ${FAL_DEFAULT_MODEL}`);
  }
  return `${parts[0]}/${parts[1]}`;
}

interface FalResult {
  images?: { url?: string }[];
  has_nsfw_concepts?: boolean[];
}

/** The images of a result; a data URI (sync_mode) is taken as base64 rather than downloaded. */
function imagesOf(result: FalResult): ImageRef[] {
  return (result.images ?? [])
    .map((i) => i.url)
    .filter((u): u is string => typeof u === 'string' && u !== '')
    .map((u) => {
      const data = /^data:[^;,]+;base64,(.*)$/s.exec(u);
      return data ? { base64: data[1] } : { url: u };
    });
}

/**
 * The task is the request id, and the model it was submitted to: status, result and cancel URLs are rebuilt from
 * both (they are what the submit answer's URLs are), so a task survives in history as those two strings.
 */
export class FalClient implements ImageProviderClient {
  readonly kind = 'fal' as const;
  private readonly base: string;

  constructor(private readonly o: FalOptions) {
    this.base = (o.queueUrl ?? FAL_DEFAULT_QUEUE_URL).replace(/\/+$/, '');
  }

  account(): AccountIdentity {
    return { endpoint: this.base, fingerprint: credentialFingerprint(this.o.apiKey) };
  }

  private call(method: 'GET' | 'POST' | 'PUT', url: string, signal?: AbortSignal, body?: unknown) {
    if (!this.o.apiKey) throw authFailed(`${FAL_ENV.credentials.apiKey} is not set`);
    const headers: Record<string, string> = { Authorization: `Key ${this.o.apiKey}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method === 'POST') headers['x-fal-no-retry'] = '1';
    const json = body === undefined ? undefined : JSON.stringify(body);
    return httpJson(url, { method, headers, body: json, timeoutMs: this.o.timeoutMs, signal });
  }

  private requestUrl(task: SubmittedTask): string {
    return `${this.base}/${falAppId(task.model)}/requests/${encodeURIComponent(task.taskId)}`;
  }

  async submit(req: GenerateRequest, signal?: AbortSignal): Promise<SubmittedTask> {
    const model = req.model ?? FAL_DEFAULT_MODEL;
    falAppId(model);
    const res = await this.call('POST', `${this.base}/${model}`, signal, buildFalInput(req));
    const err = falHttpError(res);
    if (err) throw err;
    const id = (res.json as { request_id?: unknown }).request_id;
    if (typeof id !== 'string' || !id) throw transient('submit: no request_id in a success');
    return { taskId: id, model };
  }

  async status(task: SubmittedTask, signal?: AbortSignal): Promise<TaskStatus> {
    const res = await this.call('GET', `${this.requestUrl(task)}/status`, signal);
    if (res.status === 404) throw taskGone(`request ${task.taskId} is not known to fal`);
    const err = falHttpError(res);
    if (err) throw err;
    const state = (res.json as { status?: unknown }).status;
    switch (state) {
      case 'IN_QUEUE':
        return { state: 'pending' };
      case 'IN_PROGRESS':
        return { state: 'running' };
      case 'COMPLETED':
        return this.result(task, await this.call('GET', this.requestUrl(task), signal));
      default:
        throw transient(`request ${task.taskId}: unknown status ${JSON.stringify(state)}`);
    }
  }

  /** A completed request's result: its image, or why there is none. */
  private result(task: SubmittedTask, res: HttpJsonResponse): TaskStatus {
    const err = falResultError(res);
    if (err?.type === 'ContentRejected' || err?.type === 'TaskFailed') return { state: 'failed', error: err };
    if (err) throw err;
    const result = res.json as FalResult;
    // The safety checker blacks the image out and says so here; the image is not the one asked for.
    if (result.has_nsfw_concepts?.some(Boolean)) {
      return { state: 'failed', error: contentRejected('has_nsfw_concepts: the output was flagged and blanked') };
    }
    const images = imagesOf(result);
    if (images.length) return { state: 'done', images };
    return { state: 'failed', error: taskFailed(`request ${task.taskId} completed without an image`) };
  }

  /** Cancelling a request that has ended (or that fal no longer knows) changes nothing, as with the others. */
  async cancel(task: SubmittedTask, signal?: AbortSignal): Promise<void> {
    const res = await this.call('PUT', `${this.requestUrl(task)}/cancel`, signal);
    const said = (res.json as { status?: unknown } | undefined)?.status;
    if (res.status === 404 || said === 'ALREADY_COMPLETED' || said === 'NOT_FOUND') return;
    const err = falHttpError(res);
    if (err) throw err;
  }
}

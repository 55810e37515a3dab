// Alibaba DashScope (Wanx) asynchronous text-to-image: create with X-DashScope-Async, poll /tasks/{id}.
import { type AccountIdentity, credentialFingerprint } from '../account';
import type { ProviderKind } from '../../shared/types';
import { httpJson } from '../http';
import {
  type GenerateRequest,
  type ImageProviderClient,
  type SubmittedTask,
  type TaskStatus,
  authFailed,
  taskFailed,
  taskGone,
  transient,
} from '../types';
import { DASHSCOPE_ENV } from './env';
import { dashscopeCodeError, dashscopeHttpError } from './errors';

export const DASHSCOPE_DEFAULT_BASE_URL = 'https://dashscope.aliyuncs.com/api/v1';
export const DASHSCOPE_DEFAULT_MODEL = 'wanx2.1-t2i-turbo';

export interface DashscopeOptions {
  baseUrl?: string;
  apiKey?: string;
  timeoutMs?: number;
}

export function dashscopeOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): DashscopeOptions {
  return {
    baseUrl: env[DASHSCOPE_ENV.endpoint] || DASHSCOPE_DEFAULT_BASE_URL,
    apiKey: env[DASHSCOPE_ENV.credentials.apiKey],
  };
}

/**
 * The keys imagebatch sets itself, each with the item field that sets it (or why it is fixed). An item's `params`
 * go into `parameters` and may not set them (the items reader refuses them: `n` above 1 bills several images);
 * `model`, `input` and its fields are refused too, since params cannot reach them and asking is a mistake.
 */
export const DASHSCOPE_RESERVED_PARAMS: Readonly<Record<string, string>> = {
  model: 'model',
  input: 'the request input is built from the item: prompt, negativePrompt, referenceImages',
  prompt: 'prompt',
  negative_prompt: 'negativePrompt',
  ref_img: 'referenceImages',
  n: 'imagebatch asks for one image per task (each image is billed)',
  size: 'width and height',
  seed: 'seed',
  style: 'style',
};

export function buildDashscopeBody(req: GenerateRequest): Record<string, unknown> {
  const input: Record<string, unknown> = { prompt: req.prompt };
  if (req.negativePrompt) input.negative_prompt = req.negativePrompt;
  const ref = req.referenceImages?.[0];
  if (ref?.url) input.ref_img = ref.url;
  else if (ref?.base64) input.ref_img = `data:${ref.mime ?? 'image/png'};base64,${ref.base64}`;
  // n defaults to 4 (billed each): always ask for one image.
  const parameters: Record<string, unknown> = { n: 1 };
  if (req.width && req.height) parameters.size = `${req.width}*${req.height}`;
  if (req.seed !== undefined) parameters.seed = req.seed;
  if (req.style) parameters.style = req.style;
  const extras = Object.entries(req.params ?? {}).filter(([k]) => !Object.hasOwn(DASHSCOPE_RESERVED_PARAMS, k));
  return {
    model: req.model ?? DASHSCOPE_DEFAULT_MODEL,
    input,
    parameters: { ...Object.fromEntries(extras), ...parameters },
  };
}

interface TaskOutput {
  task_id?: string;
  task_status?: string;
  results?: { url?: string; code?: string; message?: string }[];
  code?: string;
  message?: string;
}

export class DashscopeClient implements ImageProviderClient {
  readonly kind: ProviderKind = 'dashscope';
  private readonly base: string;

  constructor(private readonly o: DashscopeOptions) {
    this.base = (o.baseUrl ?? DASHSCOPE_DEFAULT_BASE_URL).replace(/\/+$/, '');
  }

  account(): AccountIdentity {
    return { endpoint: this.base, fingerprint: credentialFingerprint(this.o.apiKey) };
  }

  private headers(): Record<string, string> {
    if (!this.o.apiKey) throw authFailed(`${DASHSCOPE_ENV.credentials.apiKey} is not set`);
    return { Authorization: `Bearer ${this.o.apiKey}`, 'Content-Type': 'application/json' };
  }

  async submit(req: GenerateRequest, signal?: AbortSignal): Promise<SubmittedTask> {
    const body = buildDashscopeBody(req);
    const res = await httpJson(`${this.base}/services/aigc/text2image/image-synthesis`, {
      method: 'POST',
      headers: { ...this.headers(), 'X-DashScope-Async': 'enable' },
      body: JSON.stringify(body),
      timeoutMs: this.o.timeoutMs,
      signal,
    });
    const err = dashscopeHttpError(res);
    if (err) throw err;
    const taskId = (res.json as { output?: TaskOutput }).output?.task_id;
    if (!taskId) throw transient('create: no output.task_id in a success');
    return { taskId, model: String(body.model) };
  }

  async status(task: SubmittedTask, signal?: AbortSignal): Promise<TaskStatus> {
    const res = await httpJson(`${this.base}/tasks/${encodeURIComponent(task.taskId)}`, {
      method: 'GET',
      headers: this.headers(),
      timeoutMs: this.o.timeoutMs,
      signal,
    });
    const err = dashscopeHttpError(res);
    if (err) throw err;
    const out = (res.json as { output?: TaskOutput }).output ?? {};
    switch (out.task_status) {
      case 'PENDING':
        return { state: 'pending' };
      case 'RUNNING':
      case 'INITIALIZING':
      case 'SUSPENDED':
        return { state: 'running' };
      case 'SUCCEEDED': {
        const images = (out.results ?? []).filter((r) => r.url).map((r) => ({ url: r.url as string }));
        if (images.length) return { state: 'done', images };
        const r = (out.results ?? []).find((x) => x.code);
        return {
          state: 'failed',
          error: dashscopeCodeError(r?.code ?? 'NoResult', r?.message ?? 'succeeded without an image'),
        };
      }
      case 'FAILED': {
        const e = dashscopeCodeError(out.code ?? 'Unknown', out.message ?? 'task failed');
        // A failed task stays failed: anything but moderation means a new task.
        return { state: 'failed', error: e.type === 'ContentRejected' ? e : taskFailed(e.message, e.details) };
      }
      case 'CANCELED':
      case 'UNKNOWN':
        throw taskGone(`task ${task.taskId} is ${out.task_status}`);
      default:
        throw transient(`task ${task.taskId}: unknown task_status ${JSON.stringify(out.task_status)}`);
    }
  }

  async cancel(task: SubmittedTask, signal?: AbortSignal): Promise<void> {
    const res = await httpJson(`${this.base}/tasks/${encodeURIComponent(task.taskId)}/cancel`, {
      method: 'POST',
      headers: this.headers(),
      timeoutMs: this.o.timeoutMs,
      signal,
    });
    const err = dashscopeHttpError(res);
    if (err) throw err;
  }
}

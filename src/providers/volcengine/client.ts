// Volcengine Visual "sync2async" API: CVSync2AsyncSubmitTask / CVSync2AsyncGetResult (2022-08-31), CVCancelTask.
import { type AccountIdentity, credentialFingerprint } from '../account';
import type { ProviderKind } from '../../shared/types';
import { httpJson } from '../http';
import {
  type GenerateRequest,
  type ImageProviderClient,
  type ImageRef,
  type SubmittedTask,
  type TaskStatus,
  authFailed,
  taskGone,
  transient,
} from '../types';
import { VOLCENGINE_ENV } from './env';
import { volcengineError } from './errors';
import { signRequest } from './signer';

export const VOLCENGINE_DEFAULT_ENDPOINT = 'https://visual.volcengineapi.com';
export const VOLCENGINE_DEFAULT_MODEL = 'jimeng_t2i_v40';
/** Character keeping: reference image(s) plus prompt. */
export const VOLCENGINE_REFERENCE_MODEL = 'high_aes_ip_v20';

export interface VolcengineOptions {
  endpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  timeoutMs?: number;
}

export function volcengineOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): VolcengineOptions {
  return {
    endpoint: env[VOLCENGINE_ENV.endpoint] || VOLCENGINE_DEFAULT_ENDPOINT,
    accessKeyId: env[VOLCENGINE_ENV.credentials.accessKeyId],
    secretAccessKey: env[VOLCENGINE_ENV.credentials.secretAccessKey],
  };
}

/**
 * The submit-body keys imagebatch sets itself, each with the item field that sets it (or why it is fixed). An
 * item's `params` may not set them: the items reader refuses them (`force_single: false` would bill several
 * images), and the body below lets imagebatch's value win over any that got through.
 */
export const VOLCENGINE_RESERVED_PARAMS: Readonly<Record<string, string>> = {
  req_key: 'model',
  prompt: 'prompt',
  negative_prompt: 'negativePrompt',
  width: 'width',
  height: 'height',
  seed: 'seed',
  force_single: 'imagebatch asks for one image per task (each image is billed)',
  image_urls: 'referenceImages',
  binary_data_base64: 'referenceImages',
  return_url: 'imagebatch asks for image URLs itself',
};

export function buildVolcengineSubmitBody(req: GenerateRequest): Record<string, unknown> {
  const refs = req.referenceImages ?? [];
  const model = req.model ?? (refs.length ? VOLCENGINE_REFERENCE_MODEL : VOLCENGINE_DEFAULT_MODEL);
  const body: Record<string, unknown> = { req_key: model, prompt: req.prompt };
  if (req.negativePrompt) body.negative_prompt = req.negativePrompt;
  if (req.width && req.height) {
    body.width = req.width;
    body.height = req.height;
  }
  if (req.seed !== undefined) body.seed = req.seed;
  if (model.startsWith('jimeng_t2i_v4')) body.force_single = true;
  // Jimeng takes reference images as URLs; the legacy high_aes_* models take raw base64.
  const urls = refs.filter((r) => r.url).map((r) => r.url as string);
  const b64 = refs.filter((r) => r.base64).map((r) => r.base64 as string);
  if (urls.length) body.image_urls = urls;
  if (b64.length) body.binary_data_base64 = b64;
  if (model.startsWith('high_aes') || model.startsWith('byteedit')) body.return_url = true;
  const extras = Object.entries(req.params ?? {}).filter(([k]) => !Object.hasOwn(VOLCENGINE_RESERVED_PARAMS, k));
  return { ...Object.fromEntries(extras), ...body };
}

export class VolcengineClient implements ImageProviderClient {
  readonly kind: ProviderKind = 'volcengine';
  private readonly endpoint: string;

  constructor(private readonly o: VolcengineOptions) {
    this.endpoint = (o.endpoint ?? VOLCENGINE_DEFAULT_ENDPOINT).replace(/\/+$/, '');
  }

  account(): AccountIdentity {
    return { endpoint: this.endpoint, fingerprint: credentialFingerprint(this.o.accessKeyId) };
  }

  private async call(action: string, version: string, payload: unknown, signal?: AbortSignal) {
    if (!this.o.accessKeyId || !this.o.secretAccessKey) {
      throw authFailed(`${Object.values(VOLCENGINE_ENV.credentials).join(' and ')} are not set`);
    }
    const body = JSON.stringify(payload);
    const url = new URL(this.endpoint);
    const query = { Action: action, Version: version };
    const signed = signRequest({
      method: 'POST',
      query,
      headers: { Host: url.host, 'Content-Type': 'application/json' },
      body,
      accessKeyId: this.o.accessKeyId,
      secretAccessKey: this.o.secretAccessKey,
    });
    const { Host: _host, ...headers } = signed.headers;
    const res = await httpJson(`${this.endpoint}/?Action=${action}&Version=${version}`, {
      method: 'POST',
      headers,
      body,
      timeoutMs: this.o.timeoutMs,
      signal,
    });
    const err = volcengineError(res);
    if (err) throw err;
    return res.json as { data?: Record<string, unknown> | null };
  }

  async submit(req: GenerateRequest, signal?: AbortSignal): Promise<SubmittedTask> {
    const body = buildVolcengineSubmitBody(req);
    const res = await this.call('CVSync2AsyncSubmitTask', '2022-08-31', body, signal);
    const taskId = res.data?.task_id;
    if (typeof taskId !== 'string' && typeof taskId !== 'number')
      throw transient('submit: no data.task_id in a success');
    return { taskId: String(taskId), model: String(body.req_key) };
  }

  async status(task: SubmittedTask, signal?: AbortSignal): Promise<TaskStatus> {
    const res = await this.call(
      'CVSync2AsyncGetResult',
      '2022-08-31',
      { req_key: task.model, task_id: task.taskId, req_json: JSON.stringify({ return_url: true }) },
      signal,
    );
    const data = res.data ?? {};
    const status = data.status;
    switch (status) {
      case 'in_queue':
        return { state: 'pending' };
      case 'generating':
      case 'processing':
        return { state: 'running' };
      case 'not_found':
      case 'expired':
        throw taskGone(`task ${task.taskId} is ${status}`);
      case 'done': {
        const urls = (data.image_urls as string[] | null) ?? [];
        const b64 = (data.binary_data_base64 as string[] | null) ?? [];
        const images: ImageRef[] = [...urls.map((url) => ({ url })), ...b64.map((base64) => ({ base64 }))];
        if (!images.length) throw transient(`task ${task.taskId} is done but carries no image`);
        return { state: 'done', images };
      }
      default:
        throw transient(`task ${task.taskId}: unknown status ${JSON.stringify(status)}`);
    }
  }

  async cancel(task: SubmittedTask, signal?: AbortSignal): Promise<void> {
    await this.call('CVCancelTask', '2024-06-06', { req_key: task.model, task_id: task.taskId }, signal);
  }
}

// OpenAI-compatible Images API, synchronous: one POST {base}/images/generations returns the image. The same base
// URL serves OpenAI, Azure-style deployments, Volcengine Ark (Seedream) and compatible relays.
import { type AccountIdentity, credentialFingerprint } from '../account';
import { type ByteBudget, processAnswerBudget } from '../answer-budget';
import { httpJson } from '../http';
import {
  type GeneratedImages,
  type GenerateRequest,
  type ImageRef,
  type SyncImageProviderClient,
  authFailed,
  taskFailed,
} from '../types';
import { OPENAI_ENV } from './env';
import { openaiHttpError } from './errors';

export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';
export const OPENAI_DEFAULT_MODEL = 'gpt-image-1';
/** A generation takes from seconds to minutes; the caller's signal ends the wait sooner. */
export const OPENAI_DEFAULT_TIMEOUT_MS = 5 * 60_000;
/**
 * The image comes back inside the JSON as base64: a large PNG is several MB, well over a plain answer's cap. An answer
 * is admitted against the process's answer budget at this size when it does not say its length.
 */
export const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

export interface OpenaiOptions {
  baseUrl?: string;
  apiKey?: string;
  timeoutMs?: number;
  /** Where answers being read get their memory: default the process's one budget (see answer-budget.ts). */
  answerBudget?: ByteBudget;
}

export function openaiOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): OpenaiOptions {
  return { baseUrl: env[OPENAI_ENV.endpoint] || OPENAI_DEFAULT_BASE_URL, apiKey: env[OPENAI_ENV.credentials.apiKey] };
}

/**
 * The body keys imagebatch sets itself, each with the item field that sets it (or why it is fixed). `size` is not
 * among them: without width and height an item's params may name one (`"auto"`, Ark's `"2K"`). The API has no seed
 * and no negative prompt; Ark's `seed` goes in params.
 */
export const OPENAI_RESERVED_PARAMS: Readonly<Record<string, string>> = {
  model: 'model',
  prompt: 'prompt',
  n: 'imagebatch asks for one image per call (each image is billed)',
};

export function buildOpenaiBody(req: GenerateRequest): Record<string, unknown> {
  const body: Record<string, unknown> = { model: req.model ?? OPENAI_DEFAULT_MODEL, prompt: req.prompt, n: 1 };
  if (req.width && req.height) body.size = `${req.width}x${req.height}`;
  const extras = Object.entries(req.params ?? {}).filter(([k]) => !Object.hasOwn(OPENAI_RESERVED_PARAMS, k));
  return { ...Object.fromEntries(extras), ...body };
}

interface ImagesAnswer {
  data?: { b64_json?: unknown; url?: unknown }[];
}

export class OpenaiClient implements SyncImageProviderClient {
  readonly kind = 'openai' as const;
  private readonly base: string;

  constructor(private readonly o: OpenaiOptions) {
    this.base = (o.baseUrl ?? OPENAI_DEFAULT_BASE_URL).replace(/\/+$/, '');
  }

  account(): AccountIdentity {
    return { endpoint: this.base, fingerprint: credentialFingerprint(this.o.apiKey) };
  }

  /** Its endpoint and key, for the Batch API's client (batch-client.ts) on the same account. */
  get options(): OpenaiOptions {
    return this.o;
  }

  async generate(req: GenerateRequest, signal?: AbortSignal): Promise<GeneratedImages> {
    if (!this.o.apiKey) throw authFailed(`${OPENAI_ENV.credentials.apiKey} is not set`);
    const body = buildOpenaiBody(req);
    const res = await httpJson(`${this.base}/images/generations`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${this.o.apiKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      timeoutMs: this.o.timeoutMs ?? OPENAI_DEFAULT_TIMEOUT_MS,
      maxBytes: MAX_ANSWER_BYTES,
      budget: this.o.answerBudget ?? processAnswerBudget(),
      signal,
    });
    const err = openaiHttpError(res);
    if (err) throw err;
    const first = (res.json as ImagesAnswer).data?.[0];
    let image: ImageRef | undefined;
    if (typeof first?.b64_json === 'string' && first.b64_json) image = { base64: first.b64_json };
    else if (typeof first?.url === 'string' && first.url) image = { url: first.url };
    // Paid for and empty: a new call counts against the item's budget, as a failed task does.
    if (!image) throw taskFailed('images/generations: no b64_json or url in data[0]');
    return { images: [image], model: String(body.model) };
  }
}

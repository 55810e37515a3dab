// ComfyUI (self-hosted): POST /prompt with an API-format graph, then /history/{id} and /queue, images via /view.
// A submit names its own prompt_id, derived from the caller's idempotency key, and looks for it before posting:
// ComfyUI runs a repeated prompt_id again rather than refusing it, so the look is what makes a retry safe.
import { createHash, randomUUID } from 'node:crypto';
import { type AccountIdentity } from '../account';
import { httpJson } from '../http';
import { isSuccess } from '../http-errors';
import {
  type GenerateRequest,
  type ImageProviderClient,
  type SubmitOptions,
  type SubmittedTask,
  type TaskStatus,
  taskFailed,
  taskGone,
} from '../types';
import { DEFAULT_COMFY_WORKFLOW } from './default-graph';
import { COMFYUI_ENV } from './env';
import { comfyuiHttpError, historyError } from './errors';
import { applyGraphMapping, applyGraphParams, mappedValue } from './graph';
import type { ApiGraph, ComfyWorkflow } from './graph-types';

export const COMFYUI_DEFAULT_URL = 'http://127.0.0.1:8188';

export interface ComfyuiOptions {
  baseUrl?: string;
  timeoutMs?: number;
  /** The graph for items that name none; default DEFAULT_COMFY_WORKFLOW. */
  workflow?: ComfyWorkflow;
}

export function comfyuiOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ComfyuiOptions {
  return { baseUrl: env[COMFYUI_ENV.credentials.baseUrl] || COMFYUI_DEFAULT_URL };
}

/** The idempotency key (one job however often a submit is retried) and the item's own graph. */
export type ComfyuiSubmitOptions = SubmitOptions;

/** A lowercase UUID (as ComfyUI wants a prompt_id) that is the same for the same key. */
export function comfyPromptId(idempotencyKey: string): string {
  const b = createHash('sha256').update(`imagebatch-comfyui\u0000${idempotencyKey}`).digest().subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** KSampler wants a seed >= 0; "any seed" (-1 or none) is drawn, from the key when there is one so a retry matches. */
function seedFor(seed: number | undefined, idempotencyKey: string | undefined): number {
  if (seed !== undefined && seed >= 0) return seed;
  if (!idempotencyKey) return Math.floor(Math.random() * 2 ** 31);
  return createHash('sha256').update(`seed\u0000${idempotencyKey}`).digest().readUIntBE(0, 6);
}

/** The graph to send: the workflow's graph with the item's fields put where its mapping says, then its params. */
export function buildComfyGraph(req: GenerateRequest, workflow: ComfyWorkflow, seed?: number): ApiGraph {
  const { mapping } = workflow;
  const graph = applyGraphMapping(workflow.graph, mapping, {
    prompt: req.prompt,
    negativePrompt: req.negativePrompt || undefined,
    // Only a seed the item chose must have a place; a drawn one goes where the graph has one.
    seed: req.seed !== undefined && req.seed >= 0 ? req.seed : mapping.seed ? seed : undefined,
    width: req.width,
    height: req.height,
    model: req.model,
  });
  return applyGraphParams(graph, req.params);
}

type QueueEntry = [number, string, ...unknown[]];
interface QueueAnswer {
  queue_running?: QueueEntry[];
  queue_pending?: QueueEntry[];
}
interface HistoryEntry {
  outputs?: Record<string, { images?: { filename?: string; subfolder?: string; type?: string }[] }>;
  status?: { status_str?: string; messages?: [string, Record<string, unknown>][] };
}

export class ComfyuiClient implements ImageProviderClient {
  readonly kind = 'comfyui' as const;
  private readonly base: string;
  /** ComfyUI routes websocket progress by client id; this client polls, so one per process is enough. */
  private readonly clientId = randomUUID();

  constructor(private readonly o: ComfyuiOptions = {}) {
    this.base = (o.baseUrl ?? COMFYUI_DEFAULT_URL).replace(/\/+$/, '');
  }

  /** No credential: the server is the account. */
  account(): AccountIdentity {
    return { endpoint: this.base, fingerprint: '' };
  }

  private async get(path: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const res = await httpJson(`${this.base}${path}`, { method: 'GET', timeoutMs: this.o.timeoutMs, signal });
    const err = comfyuiHttpError(res);
    if (err) throw err;
    return res.json as Record<string, unknown>;
  }

  /** POST /queue and /interrupt answer 200 with an empty body; only /prompt answers JSON. */
  private async post(path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    const res = await httpJson(`${this.base}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      timeoutMs: this.o.timeoutMs,
      signal,
    });
    const err = isSuccess(res) && path !== '/prompt' ? undefined : comfyuiHttpError(res);
    if (err) throw err;
    return res.json;
  }

  async submit(req: GenerateRequest, signal?: AbortSignal, opts: ComfyuiSubmitOptions = {}): Promise<SubmittedTask> {
    const workflow = opts.workflow ?? this.o.workflow ?? DEFAULT_COMFY_WORKFLOW;
    const graph = buildComfyGraph(req, workflow, seedFor(req.seed, opts.idempotencyKey));
    const model = String(mappedValue(graph, workflow.mapping, 'model') ?? 'comfyui');
    const promptId = opts.idempotencyKey ? comfyPromptId(opts.idempotencyKey) : randomUUID();
    if (opts.idempotencyKey && (await this.known(promptId, signal))) return { taskId: promptId, model };
    const answer = await this.post('/prompt', { prompt: graph, client_id: this.clientId, prompt_id: promptId }, signal);
    const id = (answer as { prompt_id?: unknown }).prompt_id;
    // An older ComfyUI ignores prompt_id and makes its own; then that one is the task.
    return { taskId: typeof id === 'string' && id ? id : promptId, model };
  }

  /** Whether ComfyUI has the prompt: finished (history), running or queued. */
  private async known(promptId: string, signal?: AbortSignal): Promise<boolean> {
    if (await this.history(promptId, signal)) return true;
    if ((await this.queued(promptId, signal)) !== undefined) return true;
    // It may have finished between the two looks: queueing it again would make a second job.
    return (await this.history(promptId, signal)) !== undefined;
  }

  private async history(promptId: string, signal?: AbortSignal): Promise<HistoryEntry | undefined> {
    const answer = await this.get(`/history/${encodeURIComponent(promptId)}`, signal);
    return Object.hasOwn(answer, promptId) ? (answer[promptId] as HistoryEntry) : undefined;
  }

  private async queued(promptId: string, signal?: AbortSignal): Promise<'running' | 'pending' | undefined> {
    const q = (await this.get('/queue', signal)) as QueueAnswer;
    if (q.queue_running?.some((e) => e[1] === promptId)) return 'running';
    if (q.queue_pending?.some((e) => e[1] === promptId)) return 'pending';
    return undefined;
  }

  async status(task: SubmittedTask, signal?: AbortSignal): Promise<TaskStatus> {
    const done = await this.history(task.taskId, signal);
    if (done) return this.finished(task.taskId, done);
    const state = await this.queued(task.taskId, signal);
    if (state) return { state };
    // It may have finished between the two looks.
    const late = await this.history(task.taskId, signal);
    if (late) return this.finished(task.taskId, late);
    throw taskGone(`prompt ${task.taskId} is neither queued, running nor in the history (was ComfyUI restarted?)`);
  }

  private finished(promptId: string, entry: HistoryEntry): TaskStatus {
    if (entry.status?.status_str === 'error')
      return { state: 'failed', error: historyError(promptId, entry.status.messages) };
    const files = Object.values(entry.outputs ?? {}).flatMap((o) => o.images ?? []);
    // SaveImage writes type "output"; previews ("temp") only when the graph saves nothing.
    const saved = files.filter((f) => f.type === 'output');
    const images = (saved.length ? saved : files)
      .filter((f) => typeof f.filename === 'string' && f.filename)
      .map((f) => {
        const q = new URLSearchParams({
          filename: f.filename!,
          subfolder: f.subfolder ?? '',
          type: f.type ?? 'output',
        });
        return { url: `${this.base}/view?${q.toString()}` };
      });
    if (images.length) return { state: 'done', images };
    return { state: 'failed', error: taskFailed(`prompt ${promptId} finished without an image output`) };
  }

  /**
   * Deletes the prompt from the queue, and interrupts it if it is the one running. The prompt_id in the interrupt
   * makes a newer ComfyUI stop only that prompt; an older one stops whatever runs, so it is sent only after the
   * queue said ours is running.
   */
  async cancel(task: SubmittedTask, signal?: AbortSignal): Promise<void> {
    await this.post('/queue', { delete: [task.taskId] }, signal);
    if ((await this.queued(task.taskId, signal)) === 'running') {
      await this.post('/interrupt', { prompt_id: task.taskId }, signal);
    }
  }
}

// ComfyUI at its own paths (COMFYUI_URL = <simulator>), also under /api: POST /prompt, GET /history/{id},
// GET|POST /queue, POST /interrupt, GET /view. No auth and no moderation; over the concurrency limit prompts wait
// in the queue. A repeated prompt_id runs again, as in ComfyUI: only a client that looks first avoids a second job.
// A latent over 4096x4096 pixels fails in execution (out of memory), so a run can end in error in history.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { readGraph } from './comfyui-graph';
import { type FaultReplies, injectFault, type RequestKind } from './faults';
import { serveImage } from './image-route';
import { send } from './replies';
import { type SimTask, type Simulation, taskPhase } from './simulation';
import { answer, type Call, jsonObject, turnAway, type Route } from './wire';

const PATHS = /^(?:\/api)?\/(prompt|queue|interrupt|view|history)(?:\/([^/]+))?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_PIXELS = 4096 * 4096;

// ComfyUI itself answers errors in plain text; a proxy in front of it is what sends 429s.
const FAULTS: FaultReplies = {
  serverError: () => '500 Internal Server Error\n\nServer got itself in trouble',
  throttled: () => '429: Too Many Requests',
};

/** What the queue and history show of a prompt besides the task: its number and its graph's output node. */
const meta = new WeakMap<SimTask, { number: number; outputId: string; samplerId: string }>();
let numbers = 0;

type Op = 'submit' | 'history' | 'queue' | 'delete' | 'interrupt' | 'view';

function opOf(what: string, id: string | undefined, method: string | undefined): Op | undefined {
  if (what === 'history') return id !== undefined && method === 'GET' ? 'history' : undefined;
  if (id !== undefined) return undefined;
  if (method === 'GET') return what === 'queue' ? 'queue' : what === 'view' ? 'view' : undefined;
  if (method !== 'POST') return undefined;
  return what === 'prompt' ? 'submit' : what === 'queue' ? 'delete' : what === 'interrupt' ? 'interrupt' : undefined;
}

const KINDS: Record<Op, RequestKind> = {
  submit: 'submit',
  history: 'status',
  queue: 'status',
  view: 'status',
  delete: 'cancel',
  interrupt: 'cancel',
};

export const routeComfyui: Route = async (sim, req, res, url, body) => {
  const m = PATHS.exec(url.pathname);
  const op = m ? opOf(m[1], m[2] && decodeURIComponent(m[2]), req.method) : undefined;
  if (!op) return false;
  // Image downloads take no faults, as with the other formats.
  if (op === 'view') return view(sim, res, url);
  const c: Call = { sim, res, api: 'comfyui', kind: KINDS[op] };
  if (await injectFault(sim, res, 'comfyui', c.kind, FAULTS)) {
    if (c.kind === 'submit') sim.stats.refusal('comfyui');
    return true;
  }
  if (op === 'submit') submit(c, body);
  else if (op === 'history') history(c, decodeURIComponent(m![2]));
  else if (op === 'queue') answer(c, 200, queue(sim));
  else if (op === 'delete') remove(c, body);
  else interrupt(c, body);
  return true;
};

function submit(c: Call, body: Buffer): void {
  const p = jsonObject(body);
  const graph = p?.prompt;
  const invalid = (type: string, message: string) =>
    turnAway(c, 'bad-request', 400, { error: { type, message, details: '', extra_info: {} }, node_errors: {} });
  if (!graph || typeof graph !== 'object' || Array.isArray(graph)) {
    return invalid('invalid_prompt', 'Cannot execute because the prompt is not a valid object.');
  }
  const id = p.prompt_id ?? randomUUID();
  if (typeof id !== 'string' || !UUID.test(id)) return invalid('invalid_prompt', 'prompt_id must be a lowercase UUID');
  const read = readGraph(graph as Record<string, unknown>);
  if ('error' in read) return turnAway(c, 'bad-request', 400, read);
  const { prompt, seed, width, height, checkpoint: model } = read;
  const made = c.sim.create(
    { api: 'comfyui', prompt, seed, width, height, model },
    { id, queueOverLimit: true, unmoderated: true },
  );
  if (typeof made === 'string') return turnAway(c, made, 500, FAULTS.serverError());
  meta.set(made, { number: numbers++, outputId: read.outputId, samplerId: read.samplerId });
  answer(c, 200, { prompt_id: made.id, number: meta.get(made)!.number, node_errors: {} });
}

function entry(t: SimTask, phase: 'running' | 'pending') {
  const m = meta.get(t);
  return [m?.number ?? 0, t.id, {}, { client_id: phase }, [m?.outputId ?? '']];
}

function queue(sim: Simulation) {
  const tasks = sim.tasksOf('comfyui');
  return {
    queue_running: tasks.filter((t) => taskPhase(t) === 'generating').map((t) => entry(t, 'running')),
    queue_pending: tasks.filter((t) => taskPhase(t) === 'queued').map((t) => entry(t, 'pending')),
  };
}

/** `{}` until the prompt has run (and for one lost, as in a restart, or deleted); then its outputs or its error. */
function history(c: Call, id: string): void {
  const t = c.sim.task(id);
  if (!t || t.api !== 'comfyui' || taskPhase(t) !== 'finished' || t.outcome === 'expire') return answer(c, 200, {});
  const m = meta.get(t) ?? { number: 0, outputId: '9', samplerId: '3' };
  const start: [string, object] = ['execution_start', { prompt_id: id, timestamp: t.generatingAt }];
  const oom = t.width * t.height > MAX_PIXELS;
  const status = oom
    ? {
        status_str: 'error',
        completed: false,
        messages: [
          start,
          [
            'execution_error',
            {
              prompt_id: id,
              node_id: m.samplerId,
              node_type: 'KSampler',
              exception_message: 'Allocation on device',
              exception_type: 'torch.OutOfMemoryError',
            },
          ],
        ],
      }
    : { status_str: 'success', completed: true, messages: [start, ['execution_success', { prompt_id: id }]] };
  const images = [{ filename: `ComfyUI_${id}_00001_.png`, subfolder: '', type: 'output' }];
  const outputs = oom ? {} : { [m.outputId]: { images } };
  answer(c, 200, { [id]: { prompt: [m.number, id, {}, {}, [m.outputId]], outputs, status, meta: {} } });
}

function idsOf(body: Buffer, key: string): string[] | undefined {
  const v = jsonObject(body)?.[key];
  return Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : undefined;
}

/** `{delete: [ids]}` drops queued prompts (a running one stays: only an interrupt stops it); `{clear: true}` all. */
function remove(c: Call, body: Buffer): void {
  const ids = idsOf(body, 'delete');
  const clear = jsonObject(body)?.clear === true;
  for (const t of c.sim.tasksOf('comfyui')) {
    if (taskPhase(t) === 'queued' && (clear || ids?.includes(t.id))) c.sim.cancel(t);
  }
  c.sim.stats.request('ok', 'comfyui');
  send(c.res, 200, '');
}

/** Stops the running prompt, or with `prompt_id` only that one if it is running (newer ComfyUI). */
function interrupt(c: Call, body: Buffer): void {
  const only = idsOf(body, 'prompt_id');
  for (const t of c.sim.tasksOf('comfyui')) {
    if (taskPhase(t) === 'generating' && (!only || only.includes(t.id))) {
      c.sim.cancel(t);
      c.sim.stats.request('interrupted', 'comfyui');
    }
  }
  c.sim.stats.request('ok', 'comfyui');
  send(c.res, 200, '');
}

function view(sim: Simulation, res: ServerResponse, url: URL): true {
  const file = /^ComfyUI_([0-9a-f-]{36})_00001_\.png$/.exec(url.searchParams.get('filename') ?? '');
  if (file && url.searchParams.get('type') === 'output') serveImage(sim, res, file[1]);
  else {
    sim.stats.request('image-404', 'comfyui');
    send(res, 404, '404: Not Found');
  }
  return true;
}

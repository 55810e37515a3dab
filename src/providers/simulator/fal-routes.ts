// fal.ai's queue API under /fal (FAL_QUEUE_URL = <simulator>/fal): submit to /{owner}/{app}[/{path}], then
// /{owner}/{app}/requests/{id}[/status|/cancel]. Requests over the concurrency limit wait IN_QUEUE, as at fal.
import { type FaultReplies, injectFault } from './faults';
import { send } from './replies';
import { type SimTask, type Simulation, taskPhase } from './simulation';
import { answer, type Call, jsonObject, turnAway, type Route } from './wire';

export const FAL_PREFIX = '/fal';

const FAULTS: FaultReplies = {
  serverError: () => ({ detail: 'Internal Server Error' }),
  throttled: () => ({ detail: 'Too many requests: rate limit exceeded' }),
};

/** fal's named sizes (the default is landscape_4_3). */
const PRESETS: Record<string, [number, number]> = {
  square_hd: [1024, 1024],
  square: [512, 512],
  portrait_4_3: [768, 1024],
  portrait_16_9: [576, 1024],
  landscape_4_3: [1024, 768],
  landscape_16_9: [1024, 576],
};

const policyViolation = (loc: string) => ({
  detail: [
    { loc: ['body', loc], msg: 'The content was flagged by a content checker.', type: 'content_policy_violation' },
  ],
});

interface JsonSize {
  width?: unknown;
  height?: unknown;
}

type Op = { kind: 'submit'; model: string } | { kind: 'status' | 'cancel' | 'result'; app: string; id: string };

function parse(path: string, method: string | undefined): Op | undefined {
  const parts = path
    .slice(FAL_PREFIX.length + 1)
    .split('/')
    .map(decodeURIComponent);
  if (parts.length < 2 || parts.some((p) => !p)) return undefined;
  const app = `${parts[0]}/${parts[1]}`;
  if (parts[2] !== 'requests') return method === 'POST' ? { kind: 'submit', model: parts.join('/') } : undefined;
  const [id, op] = parts.slice(3);
  if (!id || parts.length > 5) return undefined;
  if (method === 'GET' && op === undefined) return { kind: 'result', app, id };
  if (method === 'GET' && op === 'status') return { kind: 'status', app, id };
  if (method === 'PUT' && op === 'cancel') return { kind: 'cancel', app, id };
  return undefined;
}

export const routeFal: Route = async (sim, req, res, url, body) => {
  if (!url.pathname.startsWith(`${FAL_PREFIX}/`)) return false;
  const op = parse(url.pathname, req.method);
  if (!op) {
    sim.stats.request('unknown-path', 'fal');
    send(res, 404, { detail: 'Not Found' });
    return true;
  }
  const c: Call = { sim, res, api: 'fal', kind: op.kind === 'result' ? 'status' : op.kind };
  if (req.headers.authorization !== `Key ${sim.knobs.falKey}`) {
    turnAway(c, 'auth-failed', 401, { detail: 'Cannot access application: invalid key' });
    return true;
  }
  if (await injectFault(sim, res, 'fal', c.kind, FAULTS)) {
    if (c.kind === 'submit') sim.stats.refusal('fal');
    return true;
  }
  if (op.kind === 'submit') {
    // fal's own retries of a submit can pay twice; the count shows a client that left them on.
    if (req.headers['x-fal-no-retry'] !== '1') sim.stats.request('fal-retries-left-on', 'fal');
    submit(c, op.model, body);
    return true;
  }
  const t = sim.task(op.id);
  if (!t || t.api !== 'fal' || !`${t.model}/`.startsWith(`${op.app}/`)) {
    turnAway(c, 'not-found', 404, op.kind === 'cancel' ? { status: 'NOT_FOUND' } : { detail: 'Request not found' });
  } else if (op.kind === 'status') answer(c, 200, statusOf(sim, t));
  else if (op.kind === 'cancel') cancel(c, t);
  else result(c, t);
  return true;
};

function urls(sim: Simulation, t: SimTask) {
  const app = t.model.split('/').slice(0, 2).join('/');
  const base = `${sim.baseUrl()}${FAL_PREFIX}/${app}/requests/${t.id}`;
  return { response_url: base, status_url: `${base}/status`, cancel_url: `${base}/cancel` };
}

function submit(c: Call, model: string, body: Buffer): void {
  const input = jsonObject(body);
  const prompt = input?.prompt;
  if (!input || typeof prompt !== 'string' || !prompt) {
    return turnAway(c, 'bad-request', 422, {
      detail: [{ loc: ['body', 'prompt'], msg: 'Field required', type: 'missing' }],
    });
  }
  const size = input.image_size ?? 'landscape_4_3';
  const [width, height] =
    typeof size === 'string' ? (PRESETS[size] ?? [0, 0]) : [(size as JsonSize).width, (size as JsonSize).height];
  if (!(Number(width) > 0 && Number(height) > 0)) {
    return turnAway(c, 'bad-request', 422, {
      detail: [{ loc: ['body', 'image_size'], msg: 'Input should be a valid size', type: 'value_error' }],
    });
  }
  const seed = typeof input.seed === 'number' ? input.seed : 0;
  const request = { api: 'fal' as const, prompt, seed, width: Number(width), height: Number(height), model };
  const made = c.sim.create(request, { queueOverLimit: true });
  if (made === 'moderated') return turnAway(c, 'moderated', 422, policyViolation('prompt'));
  if (made === 'limited') return turnAway(c, 'concurrency-limited', 429, FAULTS.throttled());
  answer(c, 200, { request_id: made.id, ...urls(c.sim, made), queue_position: c.sim.queuePosition(made) });
}

function statusOf(sim: Simulation, t: SimTask) {
  const phase = taskPhase(t);
  if (phase === 'queued') return { status: 'IN_QUEUE', queue_position: sim.queuePosition(t), ...urls(sim, t) };
  if (phase === 'generating') return { status: 'IN_PROGRESS', logs: null, ...urls(sim, t) };
  // A cancelled request ends too; its result is gone.
  return { status: 'COMPLETED', logs: null, metrics: { inference_time: (t.readyAt - t.generatingAt) / 1000 } };
}

function result(c: Call, t: SimTask): void {
  const phase = taskPhase(t);
  if (phase === 'queued' || phase === 'generating') {
    return turnAway(c, 'not-ready', 400, { detail: 'Request is still in progress' });
  }
  if (phase === 'cancelled' || t.outcome === 'expire') {
    return turnAway(c, 'not-found', 404, { detail: 'Request not found' });
  }
  const flagged = t.outcome === 'moderated';
  if (flagged && c.sim.knobs.falModeration === 'content_policy_violation') {
    return turnAway(c, 'moderated', 422, policyViolation('prompt'));
  }
  answer(c, 200, {
    images: [{ url: c.sim.imageUrl(t), width: t.width, height: t.height, content_type: 'image/png' }],
    seed: t.seed,
    has_nsfw_concepts: [flagged],
    prompt: t.prompt,
  });
}

function cancel(c: Call, t: SimTask): void {
  const phase = taskPhase(t);
  if (phase === 'finished') return turnAway(c, 'already-completed', 400, { status: 'ALREADY_COMPLETED' });
  c.sim.cancel(t);
  answer(c, 202, { status: 'CANCELLATION_REQUESTED' });
}

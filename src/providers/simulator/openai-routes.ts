// OpenAI Images at POST /v1/images/generations (OPENAI_BASE_URL = <simulator>/v1), synchronous: the answer comes
// once the task's latency has passed. A client that hangs up first cancels the task; over the concurrency limit a
// call gets 429 rate_limit_exceeded, as OpenAI's images-per-minute limits do.
import type { ServerResponse } from 'node:http';
import { type FaultReplies, injectFault } from './faults';
import type { SimTask } from './simulation';
import { answer, type Call, jsonObject, turnAway, type Route } from './wire';

export const OPENAI_PATH = '/v1/images/generations';

const error = (code: string | null, type: string, message: string, param: string | null = null) => ({
  error: { code, type, message, param },
});

const FAULTS: FaultReplies = {
  serverError: () => error(null, 'server_error', 'The server had an error while processing your request.'),
  throttled: () => error('rate_limit_exceeded', 'requests', 'Rate limit reached for images per minute.'),
};

const MODERATION_BLOCKED = error(
  'moderation_blocked',
  'image_generation_user_error',
  'Your request was rejected as a result of our safety system.',
);

export const routeOpenai: Route = async (sim, req, res, url, body) => {
  if (url.pathname !== OPENAI_PATH || req.method !== 'POST') return false;
  const c: Call = { sim, res, api: 'openai', kind: 'submit' };
  if (req.headers.authorization !== `Bearer ${sim.knobs.openaiKey}`) {
    turnAway(c, 'auth-failed', 401, error('invalid_api_key', 'invalid_request_error', 'Incorrect API key provided.'));
    return true;
  }
  if (await injectFault(sim, res, 'openai', 'submit', FAULTS)) {
    sim.stats.refusal('openai');
    return true;
  }
  await generate(c, body);
  return true;
};

/** `WxH`, or `auto` (the model's default). */
function sizeOf(size: unknown): { width: number; height: number } | undefined {
  if (size === undefined || size === 'auto') return { width: 1024, height: 1024 };
  const m = typeof size === 'string' ? /^(\d+)x(\d+)$/.exec(size) : null;
  return m ? { width: Number(m[1]), height: Number(m[2]) } : undefined;
}

async function generate(c: Call, body: Buffer): Promise<void> {
  const p = jsonObject(body);
  const bad = (message: string, param: string) =>
    turnAway(c, 'bad-request', 400, error('invalid_value', 'invalid_request_error', message, param));
  if (!p || typeof p.prompt !== 'string' || !p.prompt) return bad('prompt is required', 'prompt');
  if (typeof p.model !== 'string' || !p.model) return bad('model is required', 'model');
  if (p.n !== undefined && p.n !== 1) return bad('the simulator makes one image per call', 'n');
  const size = sizeOf(p.size);
  if (!size) return bad(`Invalid size '${String(p.size)}': expected WxH or auto`, 'size');
  const seed = typeof p.seed === 'number' ? p.seed : 0;
  const made = c.sim.create({ api: 'openai', prompt: p.prompt, seed, ...size, model: p.model });
  if (made === 'moderated') return turnAway(c, 'moderated', 400, MODERATION_BLOCKED);
  if (made === 'limited') return turnAway(c, 'concurrency-limited', 429, FAULTS.throttled(), { 'Retry-After': '1' });
  if (!(await untilReady(made, c.res))) {
    c.sim.cancel(made);
    c.sim.stats.request('client-closed', 'openai');
    return;
  }
  // The task was accepted: what goes wrong now is not a refused submission.
  const done: Call = { ...c, kind: 'status' };
  if (made.outcome === 'moderated') return turnAway(done, 'moderated', 400, MODERATION_BLOCKED);
  if (made.outcome === 'expire') return turnAway(done, 'failed', 500, FAULTS.serverError());
  const image =
    p.response_format === 'url' ? { url: c.sim.imageUrl(made) } : { b64_json: c.sim.image(made).toString('base64') };
  answer(done, 200, { created: Math.floor(Date.now() / 1000), data: [image], usage: { generated_images: 1 } });
}

/** Waits out the task's latency; false when the client hung up first. */
function untilReady(t: SimTask, res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(
      () => {
        res.off('close', onClose);
        resolve(!res.destroyed);
      },
      Math.max(0, t.readyAt - Date.now()),
    );
    res.once('close', onClose);
  });
}

// Volcengine Visual at POST /?Action=…&Version=…: signed submit, result and cancel, in Volcengine's envelopes.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { injectFault } from './faults';
import { VOLC_CONCURRENT_LIMIT, send, volcErr, volcOk, volcStatus } from './replies';
import { type SimTask, type Simulation, taskPhase } from './simulation';
import { verifyVolcSignature } from './volc-auth';

const ACTIONS = new Set(['CVSync2AsyncSubmitTask', 'CVSync2AsyncGetResult', 'CVCancelTask']);

type Params = Record<string, unknown>;

export function isVolcAction(action: string | null): action is string {
  return action !== null && ACTIONS.has(action);
}

export async function handleVolcengine(
  sim: Simulation,
  req: IncomingMessage,
  res: ServerResponse,
  action: string,
  version: string,
  body: Buffer,
): Promise<void> {
  const auth = verifyVolcSignature('POST', req.url ?? '/', req.headers, body, {
    accessKey: sim.knobs.volcAccessKey,
    secretKey: sim.knobs.volcSecretKey,
  });
  if (!auth.ok) {
    sim.stats.request('auth-failed', 'volcengine');
    if (action === 'CVSync2AsyncSubmitTask') sim.stats.refusal('volcengine');
    // Signature failures come from the gateway, in its envelope rather than the service's.
    return send(res, auth.status, {
      ResponseMetadata: {
        RequestId: randomUUID(),
        Action: action,
        Version: version,
        Service: 'cv',
        Region: 'cn-north-1',
        Error: { CodeN: auth.codeN, Code: auth.code, Message: auth.message },
      },
    });
  }
  const kind = action === 'CVSync2AsyncSubmitTask' ? 'submit' : action === 'CVCancelTask' ? 'cancel' : 'status';
  if (await injectFault(sim, res, 'volcengine', kind)) {
    if (kind === 'submit') sim.stats.refusal('volcengine');
    return;
  }
  let p: Params;
  try {
    p = JSON.parse(body.toString('utf8'));
  } catch {
    sim.stats.request('bad-request', 'volcengine');
    return send(res, 400, volcErr(50215, 'Input invalid: body is not JSON'));
  }
  if (typeof p.req_key !== 'string' || !p.req_key) return send(res, 400, volcErr(50215, 'Input invalid: req_key'));
  if (kind === 'submit') return submit(sim, res, p, p.req_key);

  const t = sim.task(String(p.task_id ?? ''));
  if (kind === 'cancel') {
    sim.stats.request('ok', 'volcengine');
    if (t) sim.cancel(t);
    return send(res, 200, volcOk(null));
  }
  if (!t || t.model !== p.req_key) {
    // Volcengine answers an unknown task (or one queried with another req_key) as not_found.
    sim.stats.request('not-found', 'volcengine');
    return send(res, 200, volcStatus('not_found'));
  }
  return result(sim, res, p, t);
}

function submit(sim: Simulation, res: ServerResponse, p: Params, model: string): void {
  if (typeof p.prompt !== 'string' || !p.prompt) return send(res, 400, volcErr(50215, 'Input invalid: prompt'));
  const refs = [p.binary_data_base64, p.image_urls].flatMap((r) => (Array.isArray(r) ? r : []));
  if (refs.length) sim.stats.referenceImages(p.prompt, refs.length);
  const made = sim.create({
    api: 'volcengine',
    prompt: p.prompt,
    seed: typeof p.seed === 'number' ? p.seed : -1,
    width: typeof p.width === 'number' ? p.width : 1024,
    height: typeof p.height === 'number' ? p.height : 1024,
    model,
  });
  if (made === 'moderated') {
    sim.stats.request('moderated', 'volcengine');
    sim.stats.refusal('volcengine');
    return send(res, 400, volcErr(50413, 'Post Text Risk Not Pass'));
  }
  if (made === 'limited') {
    sim.stats.request('concurrency-limited', 'volcengine');
    sim.stats.refusal('volcengine');
    return send(res, 429, volcErr(50430, VOLC_CONCURRENT_LIMIT));
  }
  sim.stats.request('ok', 'volcengine');
  return send(res, 200, volcOk({ task_id: made.id }));
}

/** CVSync2AsyncGetResult for a known task: its status, or once done its image as a URL or as base64. */
function result(sim: Simulation, res: ServerResponse, p: Params, t: SimTask): void {
  const phase = taskPhase(t);
  sim.stats.request('ok', 'volcengine');
  // A cancelled task is answered as an unknown one.
  if (phase === 'cancelled') return send(res, 200, volcStatus('not_found'));
  if (phase !== 'finished') return send(res, 200, volcStatus(phase === 'queued' ? 'in_queue' : 'generating'));
  if (t.outcome === 'expire') return send(res, 200, volcStatus('expired'));
  if (t.outcome === 'moderated') return send(res, 400, volcErr(50512, 'Post Text Risk Not Pass'));
  if (t.outcome === 'output-rejected') return send(res, 400, volcErr(50511, 'Post Img Risk Not Pass'));
  let returnUrl = sim.knobs.volcengineImages === 'url';
  if (sim.knobs.volcengineImages === 'auto') {
    try {
      returnUrl = Boolean(JSON.parse(String(p.req_json ?? '{}')).return_url);
    } catch {
      return send(res, 400, volcErr(50215, 'Input invalid: req_json'));
    }
  }
  if (returnUrl)
    return send(res, 200, volcOk({ status: 'done', binary_data_base64: null, image_urls: [sim.imageUrl(t)] }));
  return send(
    res,
    200,
    volcOk({ status: 'done', binary_data_base64: [sim.image(t).toString('base64')], image_urls: null }),
  );
}

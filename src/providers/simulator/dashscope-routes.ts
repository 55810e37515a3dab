// DashScope at /api/v1: async image-synthesis create, task status and cancel, in DashScope's envelopes.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { injectFault } from './faults';
import { dashscopeErr, dashscopeThrottled, send } from './replies';
import { type Simulation, taskPhase } from './simulation';

export type DashscopeCall = 'create' | 'status' | 'cancel';

interface CreateBody {
  model?: string;
  input?: { prompt?: string; ref_img?: string };
  parameters?: { size?: string; seed?: number; n?: number };
}

export async function handleDashscope(
  sim: Simulation,
  req: IncomingMessage,
  res: ServerResponse,
  call: DashscopeCall,
  body: Buffer,
  taskId?: string,
): Promise<void> {
  const rid = randomUUID();
  if (req.headers.authorization !== `Bearer ${sim.knobs.dashscopeKey}`) {
    sim.stats.request('auth-failed', 'dashscope');
    if (call === 'create') sim.stats.refusal('dashscope');
    return send(res, 401, dashscopeErr('InvalidApiKey', 'Invalid API-key provided.', rid));
  }
  if (await injectFault(sim, res, 'dashscope', call === 'create' ? 'submit' : call)) {
    if (call === 'create') sim.stats.refusal('dashscope');
    return;
  }
  if (call === 'create') return create(sim, req, res, body, rid);
  if (call === 'cancel') return cancel(sim, res, taskId, rid);
  return status(sim, res, taskId, rid);
}

function create(sim: Simulation, req: IncomingMessage, res: ServerResponse, body: Buffer, rid: string): void {
  if (req.headers['x-dashscope-async'] !== 'enable') {
    sim.stats.request('bad-request', 'dashscope');
    return send(res, 403, dashscopeErr('AccessDenied', 'current user api does not support synchronous calls', rid));
  }
  let p: CreateBody;
  try {
    p = JSON.parse(body.toString('utf8'));
  } catch {
    return send(res, 400, dashscopeErr('InvalidParameter', 'body is not JSON', rid));
  }
  const prompt = p.input?.prompt;
  if (!p.model || typeof prompt !== 'string' || !prompt) {
    return send(res, 400, dashscopeErr('InvalidParameter', 'model and input.prompt are required', rid));
  }
  const size = /^(\d+)\*(\d+)$/.exec(p.parameters?.size ?? '1024*1024');
  if (!size) return send(res, 400, dashscopeErr('InvalidParameter', 'parameters.size must be W*H', rid));
  if (p.input?.ref_img) sim.stats.referenceImages(prompt, 1);
  const made = sim.create({
    api: 'dashscope',
    prompt,
    seed: p.parameters?.seed ?? 0,
    width: Number(size[1]),
    height: Number(size[2]),
    model: p.model,
  });
  if (made === 'moderated') {
    sim.stats.request('moderated', 'dashscope');
    sim.stats.refusal('dashscope');
    return send(res, 400, dashscopeErr('DataInspectionFailed', 'Input data may contain inappropriate content.', rid));
  }
  if (made === 'limited') {
    sim.stats.request('concurrency-limited', 'dashscope');
    sim.stats.refusal('dashscope');
    return send(res, 429, dashscopeThrottled(rid));
  }
  sim.stats.request('ok', 'dashscope');
  return send(res, 200, { output: { task_status: 'PENDING', task_id: made.id }, request_id: rid });
}

function cancel(sim: Simulation, res: ServerResponse, taskId: string | undefined, rid: string): void {
  const t = sim.task(taskId ?? '');
  if (!t) return send(res, 404, dashscopeErr('NotFound', 'task not found', rid));
  sim.stats.request('ok', 'dashscope');
  sim.cancel(t);
  return send(res, 200, { request_id: rid });
}

function status(sim: Simulation, res: ServerResponse, taskId: string | undefined, rid: string): void {
  const t = sim.task(taskId ?? '');
  sim.stats.request(t ? 'ok' : 'not-found');
  const output: Record<string, unknown> = { task_id: taskId };
  if (!t) return send(res, 200, { request_id: rid, output: { ...output, task_status: 'UNKNOWN' } });
  const phase = taskPhase(t);
  output.submit_time = new Date(t.createdAt).toISOString();
  if (phase === 'cancelled') output.task_status = 'CANCELED';
  else if (phase === 'queued') output.task_status = 'PENDING';
  else if (phase === 'generating') output.task_status = 'RUNNING';
  else if (t.outcome === 'expire') output.task_status = 'UNKNOWN';
  else if (t.outcome === 'moderated') {
    Object.assign(output, {
      task_status: 'FAILED',
      code: 'DataInspectionFailed',
      message: 'Output data may contain inappropriate content.',
    });
  } else {
    output.end_time = new Date(t.readyAt).toISOString();
    output.task_status = 'SUCCEEDED';
    output.results = [{ url: sim.imageUrl(t), orig_prompt: t.prompt, actual_prompt: t.prompt }];
    output.task_metrics = { TOTAL: 1, SUCCEEDED: 1, FAILED: 0 };
  }
  return send(res, 200, {
    request_id: rid,
    output,
    usage: output.task_status === 'SUCCEEDED' ? { image_count: 1 } : undefined,
  });
}

// Fault injection: each API request draws at most one fault from the knobs' rates, in a fixed order.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { VOLC_CONCURRENT_LIMIT, dashscopeErr, dashscopeThrottled, send, volcErr } from './replies';
import type { Api, Simulation } from './simulation';

export type RequestKind = 'submit' | 'status' | 'cancel';

/** A wire format's bodies for an injected 500 and 429 (Volcengine's and DashScope's are built in). */
export interface FaultReplies {
  serverError(): unknown;
  throttled(): unknown;
}

/** A fault drawn for this request, if any; 'slow' only delays. Returns true when the response is taken. */
export async function injectFault(
  sim: Simulation,
  res: ServerResponse,
  api: Api,
  kind: RequestKind,
  replies?: FaultReplies,
): Promise<boolean> {
  const k = sim.knobs;
  if (k.faultsOn !== 'all' && k.faultsOn !== kind) return false;
  const u = sim.rnd();
  let edge = 0;
  if (u < (edge += k.hang)) {
    sim.stats.request('hang', api);
    const timer = setTimeout(() => res.destroy(), k.hangMs);
    res.on('close', () => clearTimeout(timer));
    return true;
  }
  if (u < (edge += k.fail5xx)) {
    sim.stats.request('5xx', api);
    if (replies) send(res, 500, replies.serverError());
    else if (api === 'volcengine') send(res, 500, volcErr(50500, 'Internal Error'));
    else send(res, 500, dashscopeErr('InternalError', 'An internal error has occured', randomUUID()));
    return true;
  }
  if (u < (edge += k.fail429)) {
    sim.stats.request('429', api);
    if (replies) {
      send(res, 429, replies.throttled(), { 'Retry-After': '1' });
    } else if (api === 'volcengine') {
      const code = sim.rnd() < 0.5 ? 50429 : 50430;
      const msg = code === 50429 ? 'Request Has Reached API Limit, Please Try Later' : VOLC_CONCURRENT_LIMIT;
      send(res, 429, volcErr(code, msg), { 'Retry-After': '1' });
    } else {
      send(res, 429, dashscopeThrottled(randomUUID()), { 'Retry-After': '1' });
    }
    return true;
  }
  if (u < (edge += k.malformed)) {
    sim.stats.request('malformed', api);
    send(res, 200, '{"code":10000,"data":{"status":"do');
    return true;
  }
  if (u < edge + k.slow) {
    sim.stats.request('slow', api);
    await new Promise((r) => setTimeout(r, k.slowMs));
  }
  return false;
}

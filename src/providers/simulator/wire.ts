// Small pieces the fal, OpenAI and ComfyUI routes share: reading a JSON body, and answering a request the
// simulator turns away (counted under its outcome and, for a submit, as a refused submission).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestKind } from './faults';
import { send } from './replies';
import type { Api, Simulation } from './simulation';

export type JsonObject = Record<string, unknown>;

/** A wire format's routes: true when the request was on one of its paths (and is answered). */
export type Route = (
  sim: Simulation,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  body: Buffer,
) => Promise<boolean>;

/** The body as a JSON object, or undefined when it is not one. */
export function jsonObject(body: Buffer): JsonObject | undefined {
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

export interface Call {
  sim: Simulation;
  res: ServerResponse;
  api: Api;
  kind: RequestKind;
}

export function turnAway(c: Call, outcome: string, status: number, body: unknown, headers?: Record<string, string>) {
  c.sim.stats.request(outcome, c.api);
  if (c.kind === 'submit') c.sim.stats.refusal(c.api);
  send(c.res, status, body, headers);
}

/** A request that was served as asked. */
export function answer(c: Call, status: number, body: unknown): void {
  c.sim.stats.request('ok', c.api);
  send(c.res, status, body);
}

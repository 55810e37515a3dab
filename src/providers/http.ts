// One JSON-over-HTTP call with timeouts. The body is read and parsed on every status code: providers put
// moderation errors in 400s, limits in 429s and some errors in 200s.
import { request } from 'undici';
import { transient } from './types';

export interface HttpJsonResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed body, or undefined when it was not JSON. */
  json: unknown;
  text: string;
}

/** A provider's JSON answer is small; a larger body is not read whole (a hostile or broken endpoint). */
export const MAX_JSON_BYTES = 1024 * 1024;

export interface HttpJsonOptions {
  method: 'GET' | 'POST' | 'PUT';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Default MAX_JSON_BYTES; an answer that carries images as base64 needs more. */
  maxBytes?: number;
}

export async function httpJson(url: string, o: HttpJsonOptions): Promise<HttpJsonResponse> {
  const timeoutMs = o.timeoutMs ?? 30_000;
  let res;
  try {
    res = await request(url, {
      method: o.method,
      headers: o.headers,
      body: o.body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: o.signal,
    });
  } catch (err) {
    if (o.signal?.aborted) throw err;
    throw transient(`${o.method} ${redact(url)}: ${(err as Error).message}`);
  }
  let text: string;
  try {
    text = await readCapped(res.body, o.maxBytes ?? MAX_JSON_BYTES);
  } catch (err) {
    throw transient(`${o.method} ${redact(url)}: body: ${(err as Error).message}`, { httpStatus: res.statusCode });
  }
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, json, text };
}

/** The body as text, failing (and dropping the connection) past `max` bytes instead of buffering it all. */
async function readCapped(body: AsyncIterable<Buffer> & { destroy(err?: Error): unknown }, max: number) {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) {
      body.destroy();
      throw new Error(`the answer is over ${max} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Retry-After in ms (seconds or an HTTP date), if the response carried one. */
export function retryAfterMs(headers: HttpJsonResponse['headers']): number | undefined {
  const v = headers['retry-after'];
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return undefined;
  const secs = Number(s);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(s);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

/** URLs in messages carry no query strings (signed URLs and tokens stay out of logs and history). */
export function redact(url: string): string {
  const i = url.indexOf('?');
  return i < 0 ? url : url.slice(0, i);
}

export function snippet(text: string, n = 200): string {
  return text.length > n ? `${text.slice(0, n)}…` : text;
}

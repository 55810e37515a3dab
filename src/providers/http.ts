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

export interface HttpJsonOptions {
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
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
    text = await res.body.text();
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

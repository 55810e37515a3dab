// One JSON-over-HTTP call with timeouts. The body is read and parsed on every status code: providers put
// moderation errors in 400s, limits in 429s and some errors in 200s.
import { type Dispatcher, request } from 'undici';
import type { ByteBudget } from './answer-budget';
import { transient } from './types';

export interface HttpJsonResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed body, or undefined when it was not JSON (of an error cut at the cap: what its start says). */
  json: unknown;
  text: string;
  /** An error answer over the cap: `text` is its first bytes, `json` what they parse to once closed. */
  cut?: boolean;
}

/** A provider's JSON answer is small; a larger body is not read whole (a hostile or broken endpoint). */
export const MAX_JSON_BYTES = 1024 * 1024;

export interface HttpJsonOptions {
  method: 'GET' | 'POST' | 'PUT';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Of a 2xx answer (an error's is MAX_JSON_BYTES): default MAX_JSON_BYTES; images as base64 need more. */
  maxBytes?: number;
  /**
   * Where a large 2xx answer gets its memory: its size (Content-Length, else maxBytes) is reserved before its body is
   * read, and given back once it is parsed. Its text is then not kept (the parsed JSON is all a success needs).
   */
  budget?: ByteBudget;
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
  // An error is small whatever a success may carry: it is read to the plain cap.
  const success = res.statusCode >= 200 && res.statusCode < 300;
  const max = success ? (o.maxBytes ?? MAX_JSON_BYTES) : MAX_JSON_BYTES;
  let release: (() => void) | undefined;
  try {
    if (success && o.budget)
      release = await o.budget.reserve(Math.min(contentLength(res.headers) ?? max, max), o.signal).catch((err) => {
        res.body.destroy();
        throw err;
      });
    return await readAnswer(res, max, success, o, url, Boolean(release));
  } finally {
    release?.();
  }
}

async function readAnswer(
  res: Dispatcher.ResponseData,
  max: number,
  success: boolean,
  o: HttpJsonOptions,
  url: string,
  budgeted: boolean,
): Promise<HttpJsonResponse> {
  let body: { text: string; cut: boolean };
  try {
    body = await readCapped(res.body, max);
  } catch (err) {
    throw transient(`${o.method} ${redact(url)}: body: ${(err as Error).message}`, { httpStatus: res.statusCode });
  }
  const { text, cut } = body;
  // A success cut short cannot be used; an error cut short is classified from its start (its status, and the code
  // providers put before their message), never taken for a temporary failure.
  if (cut && success)
    throw transient(`${o.method} ${redact(url)}: body: the answer is over ${max} bytes`, {
      httpStatus: res.statusCode,
    });
  if (cut) return { status: res.statusCode, headers: res.headers, json: parsePrefix(text), text, cut };
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, json, text: budgeted && json !== undefined ? '' : text };
}

function contentLength(headers: HttpJsonResponse['headers']): number | undefined {
  const v = Number(headers['content-length']);
  return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}

/** The body as text, at most `max` bytes of it: past that the connection is dropped and `cut` says so. */
async function readCapped(body: AsyncIterable<Buffer> & { destroy(err?: Error): unknown }, max: number) {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size + chunk.length > max) {
      chunks.push(chunk.subarray(0, max - size));
      body.destroy();
      // A character cut in two at the end is dropped rather than decoded as U+FFFD.
      return { text: new TextDecoder().decode(Buffer.concat(chunks), { stream: true }), cut: true };
    }
    size += chunk.length;
    chunks.push(chunk);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), cut: false };
}

/**
 * The JSON a cut-off text starts: its open string and brackets closed, or cut back to the last complete member. A
 * provider's error `{"code": "DataInspectionFailed", "message": "<a megabyte>` still says its code.
 */
export function parsePrefix(text: string): unknown {
  const open: string[] = [];
  let inString = false;
  let escaped = false;
  /** Where a member or element ended (a comma outside strings), with the brackets open there. */
  let lastComma: { at: number; closers: string } | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') open.push('}');
    else if (c === '[') open.push(']');
    else if (c === '}' || c === ']') open.pop();
    else if (c === ',') lastComma = { at: i, closers: [...open].reverse().join('') };
  }
  const closers = [...open].reverse().join('');
  // An escape cut in two (a lone backslash, a partial \uXXXX) is dropped before the string is closed.
  const head = inString ? `${text.slice(0, escaped ? -1 : undefined).replace(/\\u[0-9a-fA-F]{0,3}$/, '')}"` : text;
  for (const attempt of [head + closers, lastComma && text.slice(0, lastComma.at) + lastComma.closers]) {
    if (attempt === undefined) continue;
    try {
      return JSON.parse(attempt);
    } catch {
      // The next, shorter try.
    }
  }
  return undefined;
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

// One line of a batch job's output or error file, classified as one synchronous call's answer would be: the image, or
// the failure openaiHttpError makes of the same status and body, or a line the job dropped unrun (expired, cancelled).
import type { HttpJsonResponse } from '../http';
import { type ImageRef, type ProviderError, taskFailed, transient } from '../types';
import { openaiHttpError } from './errors';

export type BatchLineResult =
  | { customId: string; image: ImageRef }
  /** Run and answered with an error: billed or not as the same call would be. */
  | { customId: string; failure: ProviderError }
  /** Never run: the job expired or was cancelled first. Not billed. */
  | { customId: string; dropped: 'expired' | 'cancelled'; message: string };

interface ResultLine {
  custom_id?: unknown;
  response?: { status_code?: unknown; body?: unknown } | null;
  error?: { code?: unknown; message?: unknown } | null;
}

/** The line's result, or undefined for a line that is not one (blank, not JSON, no custom_id). */
export function parseResultLine(text: string): BatchLineResult | undefined {
  if (!text.trim()) return undefined;
  let line: ResultLine;
  try {
    line = JSON.parse(text) as ResultLine;
  } catch {
    return undefined;
  }
  if (typeof line.custom_id !== 'string') return undefined;
  const customId = line.custom_id;
  const res = line.response;
  if (res && typeof res.status_code === 'number') {
    const answer: HttpJsonResponse = {
      status: res.status_code,
      headers: {},
      json: res.body,
      text: JSON.stringify(res.body),
    };
    const failure = openaiHttpError(answer);
    if (failure) return { customId, failure };
    const first = (res.body as { data?: { b64_json?: unknown; url?: unknown }[] }).data?.[0];
    if (typeof first?.b64_json === 'string' && first.b64_json) return { customId, image: { base64: first.b64_json } };
    if (typeof first?.url === 'string' && first.url) return { customId, image: { url: first.url } };
    return { customId, failure: taskFailed('batch line: no b64_json or url in data[0]') };
  }
  const code = typeof line.error?.code === 'string' ? line.error.code : '';
  const message = typeof line.error?.message === 'string' ? line.error.message : code || 'no response';
  if (code === 'batch_expired') return { customId, dropped: 'expired', message };
  if (code === 'batch_cancelled') return { customId, dropped: 'cancelled', message };
  // A line error OpenAI does not document: not the item's fault as far as anyone knows, so it goes again.
  return { customId, failure: transient(`batch line: ${code || 'error'}: ${message}`, { code }) };
}

/**
 * A JSONL body's lines (CRLF or LF), each taken from the source only when the last one was dealt with: at most one line
 * and one chunk in memory. (readline's iterator reads ahead up to 1,024 lines: a thousand base64 images.)
 */
export async function* jsonlLines(
  chunks: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let rest = '';
  for await (const chunk of chunks) {
    // A line of megabytes comes in many chunks: only the new part is searched for its end.
    let from = rest.length;
    rest += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = rest.indexOf('\n', from)) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      from = 0;
      yield line.endsWith('\r') ? line.slice(0, -1) : line;
    }
  }
  rest += decoder.decode();
  if (rest) yield rest;
}

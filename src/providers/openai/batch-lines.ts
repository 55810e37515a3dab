// The Batch API's input file: one JSONL line per image, `{custom_id, method, url, body}`, the body as the Images API
// takes it one by one. The limits a file must keep are OpenAI's (its Batch API reference).
import type { GenerateRequest } from '../types';
import { buildOpenaiBody } from './client';

export const BATCH_ENDPOINT = '/v1/images/generations';
/** A file holds at most this many lines, and this many bytes; one model per file; custom_id at most 64 characters. */
export const MAX_FILE_LINES = 50_000;
export const MAX_FILE_BYTES = 200 * 1024 * 1024;
export const MAX_CUSTOM_ID = 64;

export interface BatchLine {
  customId: string;
  request: GenerateRequest;
}

/** One line of the input file, newline included. */
export function batchLineText({ customId, request }: BatchLine): string {
  if (!customId || customId.length > MAX_CUSTOM_ID)
    throw new RangeError(`custom_id '${customId}' must be 1 to ${MAX_CUSTOM_ID} characters`);
  const body = buildOpenaiBody(request);
  return `${JSON.stringify({ custom_id: customId, method: 'POST', url: BATCH_ENDPOINT, body })}\n`;
}

/** The file's text, or why it cannot be one file (the caller split it wrong). */
export function batchFileText(lines: BatchLine[], limits = { lines: MAX_FILE_LINES, bytes: MAX_FILE_BYTES }): string {
  if (!lines.length) throw new RangeError('a batch file needs at least one line');
  if (lines.length > limits.lines)
    throw new RangeError(`${lines.length} lines: a batch file holds at most ${limits.lines}`);
  const models = new Set(lines.map((l) => String(buildOpenaiBody(l.request).model)));
  if (models.size > 1) throw new RangeError(`one model per batch file, not ${[...models].join(', ')}`);
  const ids = new Set(lines.map((l) => l.customId));
  if (ids.size !== lines.length) throw new RangeError('custom_id repeated in one batch file');
  const text = lines.map(batchLineText).join('');
  const bytes = Buffer.byteLength(text);
  if (bytes > limits.bytes) throw new RangeError(`${bytes} bytes: a batch file holds at most ${limits.bytes}`);
  return text;
}

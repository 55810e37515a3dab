// Reads and validates an items file (.jsonl, .json array, or .txt with one prompt a line). Every problem is
// reported as `file:line: field: message`, all of them, before anything starts.
import fs from 'node:fs';
import path from 'node:path';
import { ITEM_FIELDS, ItemSchema } from '../shared/item-schema';
import type { ImageItem } from '../shared/types';

export const MAX_LINE_CHARS = 100_000;
export const MAX_ITEMS = 1_000_000;

export class ItemsFileError extends Error {
  name = 'ItemsFileError';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(
        d[i - 1][j] + 1,
        d[i][j - 1] + 1,
        d[i - 1][j - 1] + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1),
      );
    }
  }
  return d[a.length][b.length];
}

export function suggestField(name: string): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const f of ITEM_FIELDS) {
    const dist = editDistance(name, f);
    if (dist < bestD) [best, bestD] = [f, dist];
  }
  return bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

interface RawEntry {
  /** Where the item starts in the file, for messages. */
  line: number;
  value: unknown;
  defaultId: string;
}

function splitLines(text: string): string[] {
  return text.split(/\r?\n/);
}

function rawEntries(file: string, text: string, problems: string[]): RawEntry[] {
  const ext = path.extname(file).toLowerCase();
  const out: RawEntry[] = [];
  if (ext === '.json') {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      problems.push(`${file}:1: not valid JSON: ${(err as Error).message}`);
      return out;
    }
    if (!Array.isArray(value)) {
      problems.push(`${file}:1: expected a JSON array of items`);
      return out;
    }
    // Line of each element's start, for messages: the line where its top-level `{` or value begins.
    const starts = elementLines(text);
    value.forEach((v, i) => out.push({ line: starts[i] ?? 1, value: v, defaultId: String(i + 1) }));
    return out;
  }
  const lines = splitLines(text);
  lines.forEach((line, i) => {
    const n = i + 1;
    if (!line.trim()) return;
    if (line.length > MAX_LINE_CHARS) {
      problems.push(`${file}:${n}: line is ${line.length} characters, over the ${MAX_LINE_CHARS} limit`);
      return;
    }
    if (ext === '.txt') {
      out.push({ line: n, value: { prompt: line.trim() }, defaultId: String(n) });
      return;
    }
    try {
      out.push({ line: n, value: JSON.parse(line), defaultId: String(n) });
    } catch (err) {
      problems.push(`${file}:${n}: not valid JSON: ${(err as Error).message}`);
    }
  });
  return out;
}

/** The line on which each top-level array element starts (a small scanner that skips strings). */
function elementLines(text: string): number[] {
  const lines: number[] = [];
  let depth = 0;
  let line = 1;
  let inString = false;
  let expectValue = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') line++;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (depth === 1 && expectValue && !/\s/.test(c) && c !== ']') {
      lines.push(line);
      expectValue = false;
    }
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      depth++;
      if (depth === 1) expectValue = true;
    } else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 1) expectValue = true;
  }
  return lines;
}

export interface ParsedItems {
  file: string;
  items: ImageItem[];
}

/** Reads and validates; throws ItemsFileError with every problem. Reference image paths become absolute. */
export function readItemsFile(file: string): ParsedItems {
  const ext = path.extname(file).toLowerCase();
  if (!['.jsonl', '.ndjson', '.json', '.txt'].includes(ext)) {
    throw new ItemsFileError([`${file}: unsupported file type '${ext || '(none)'}': use .jsonl, .json or .txt`]);
  }
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    throw new ItemsFileError([
      `${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    ]);
  }
  if (buf.includes(0)) throw new ItemsFileError([`${file}: is a binary file (it contains NUL bytes), not text`]);
  let text = buf.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // BOM
  if (text.includes('\uFFFD')) {
    const n = text.slice(0, text.indexOf('\uFFFD')).split('\n').length;
    throw new ItemsFileError([`${file}:${n}: is not valid UTF-8 text`]);
  }
  const problems: string[] = [];
  const entries = rawEntries(file, text, problems);
  if (!entries.length && !problems.length) problems.push(`${file}: has no items`);
  if (entries.length > MAX_ITEMS) problems.push(`${file}: has ${entries.length} items, over the ${MAX_ITEMS} limit`);
  const dir = path.dirname(path.resolve(file));
  const items: ImageItem[] = [];
  const seen = new Map<string, number>();
  for (const e of entries) {
    // The path as the user gave it, so `file:line` opens in an editor and two files of one name are told apart.
    const where = `${file}:${e.line}`;
    if (typeof e.value !== 'object' || e.value === null || Array.isArray(e.value)) {
      problems.push(`${where}: expected an object with at least a "prompt"`);
      continue;
    }
    const parsed = ItemSchema.safeParse(e.value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        if (issue.code === 'unrecognized_keys') {
          for (const key of issue.keys) {
            const hint = suggestField(key);
            problems.push(
              `${where}: ${[...issue.path, key].join('.')}: unknown field${hint ? ` (did you mean '${hint}'?)` : ''}`,
            );
          }
        } else {
          const field = issue.path.join('.') || '(item)';
          const msg =
            issue.code === 'invalid_type' && issue.message.includes('undefined') ? 'is required' : issue.message;
          problems.push(`${where}: ${field}: ${msg}`);
        }
      }
      continue;
    }
    const item = { ...parsed.data, id: parsed.data.id ?? e.defaultId } as ImageItem;
    const dup = seen.get(item.id);
    if (dup) problems.push(`${where}: id: '${item.id}' is used already (at line ${dup})`);
    seen.set(item.id, e.line);
    if (item.referenceImages) {
      item.referenceImages = item.referenceImages.map((ref, k) => {
        if (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref)) {
          if (!/^https?:\/\//i.test(ref))
            problems.push(`${where}: referenceImages.${k}: only http(s) URLs or local files`);
          return ref;
        }
        const abs = path.resolve(dir, ref);
        try {
          fs.accessSync(abs, fs.constants.R_OK);
          if (!fs.statSync(abs).isFile()) throw new Error('not a file');
        } catch {
          problems.push(`${where}: referenceImages.${k}: cannot read '${ref}'`);
        }
        return abs;
      });
    }
    items.push(item);
  }
  if (problems.length) throw new ItemsFileError(problems);
  return { file: path.resolve(file), items };
}

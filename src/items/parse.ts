// Items file text to raw entries, one per line (.jsonl, .txt) or array element (.json), each with the line it
// starts on. The per-item size and the item count are checked here, before any item is validated.
import type { Problems } from './problems';

/** One item's JSON, in UTF-8 bytes: anything larger is a mistake, and it would be carried in every page of items. */
export const MAX_ITEM_BYTES = 100_000;
export const MAX_ITEMS = 1_000_000;

export interface RawEntry {
  /** Where the item starts in the file, for messages. */
  line: number;
  value: unknown;
  defaultId: string;
}

export type ItemsFormat = 'json' | 'jsonl' | 'txt';

const tooLarge = (bytes: number) => `item is ${bytes} bytes of JSON, over the ${MAX_ITEM_BYTES}-byte limit`;
const tooMany = (count: number) => `has ${count} items, over the ${MAX_ITEMS} limit`;

/** The images an entry asks for: each of its `n` or `seeds` (a value the schema will refuse counts as one). */
function imagesOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 1;
  const { n, seeds } = value as { n?: unknown; seeds?: unknown };
  if (Array.isArray(seeds) && seeds.length) return seeds.length;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 1 ? n : 1;
}

/**
 * The entry that takes the file over `max` images, if one does: the limit counts images, not lines, and is checked
 * on the raw entries, before any is validated or expanded into its variants (16 million would exhaust memory).
 */
export function entryOverImageLimit(entries: RawEntry[], max = MAX_ITEMS): RawEntry | undefined {
  let images = 0;
  return entries.find((e) => (images += imagesOf(e.value)) > max);
}

export const tooManyImages = `brings the batch to over ${MAX_ITEMS} images (each of n or seeds is one): split the file`;

export function rawEntries(format: ItemsFormat, text: string, problems: Problems): RawEntry[] {
  return format === 'json' ? arrayEntries(text, problems) : lineEntries(format, text, problems);
}

function arrayEntries(text: string, problems: Problems): RawEntry[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    problems.add(1, `not valid JSON: ${(err as Error).message}`);
    return [];
  }
  if (!Array.isArray(value)) {
    problems.add(1, 'expected a JSON array of items');
    return [];
  }
  if (value.length > MAX_ITEMS) {
    problems.add(undefined, tooMany(value.length));
    return [];
  }
  const starts = elementLines(text);
  const out: RawEntry[] = [];
  value.forEach((v: unknown, i) => {
    const line = starts[i] ?? 1;
    const bytes = Buffer.byteLength(JSON.stringify(v) ?? '');
    if (bytes > MAX_ITEM_BYTES) problems.add(line, tooLarge(bytes));
    else out.push({ line, value: v, defaultId: String(i + 1) });
  });
  return out;
}

function lineEntries(format: ItemsFormat, text: string, problems: Problems): RawEntry[] {
  const lines = text.split(/\r?\n/);
  const count = lines.reduce((n, l) => (l.trim() ? n + 1 : n), 0);
  if (count > MAX_ITEMS) {
    problems.add(undefined, tooMany(count));
    return [];
  }
  const out: RawEntry[] = [];
  lines.forEach((line, i) => {
    const n = i + 1;
    if (!line.trim()) return;
    const bytes = Buffer.byteLength(line);
    if (bytes > MAX_ITEM_BYTES) {
      problems.add(n, tooLarge(bytes));
      return;
    }
    if (format === 'txt') {
      out.push({ line: n, value: { prompt: line.trim() }, defaultId: String(n) });
      return;
    }
    try {
      out.push({ line: n, value: JSON.parse(line), defaultId: String(n) });
    } catch (err) {
      problems.add(n, `not valid JSON: ${(err as Error).message}`);
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

// Reads and validates an items file (.jsonl, .json array, or .txt with one prompt a line). Every problem is
// reported as `file:line: field: message`, all of them, before anything starts; the steps live beside this file:
// bytes to text (items-decode), text to entries (items-parse), the schema (items-fields), the rules beyond it
// (items-rules) and reference images (items-refs).
import path from 'node:path';
import { ItemSchema } from '../shared/item-schema';
import type { ImageItem } from '../shared/types';
import { decodeItemsText, readItemsBytes } from './items-decode';
import { ItemsFileError } from './items-error';
import { schemaProblems } from './items-fields';
import { type ItemsFormat, rawEntries } from './items-parse';
import { Problems } from './items-problems';
import { checkReference, referenceRoots, type RefRoots } from './items-refs';
import { itemRuleProblems, nameCollisions, type Placed } from './items-rules';

export { ItemsFileError } from './items-error';
export { suggestField } from './items-fields';
export { MAX_ITEM_BYTES, MAX_ITEMS } from './items-parse';

const FORMATS: Record<string, ItemsFormat> = { '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.json': 'json', '.txt': 'txt' };

export interface ItemsOptions {
  /** A folder reference images may come from besides the items file's (`--refs-dir`). */
  refsDir?: string;
  /** The batch's `--provider`: which provider's reserved request keys an item without its own must not set. */
  provider?: string;
}

export interface ParsedItems {
  file: string;
  items: ImageItem[];
}

/** Local reference paths become resolved absolute paths. */
function checkReferences(item: ImageItem, line: number, roots: RefRoots, problems: Problems): void {
  if (!item.referenceImages) return;
  item.referenceImages = item.referenceImages.map((ref, k) => {
    const checked = checkReference(ref, roots);
    if ('ref' in checked) return checked.ref;
    problems.field(line, `referenceImages.${k}`, checked.problem);
    return ref;
  });
}

/** Reads and validates; throws ItemsFileError with every problem (UsageError for a bad --refs-dir). */
export function readItemsFile(file: string, options: ItemsOptions = {}): ParsedItems {
  const ext = path.extname(file).toLowerCase();
  const format = FORMATS[ext];
  if (!format) {
    throw new ItemsFileError([`${file}: unsupported file type '${ext || '(none)'}': use .jsonl, .json or .txt`]);
  }
  const text = decodeItemsText(file, readItemsBytes(file, format === 'json'));
  const roots = referenceRoots(file, options.refsDir);
  const problems = new Problems(file);
  const entries = rawEntries(format, text, problems);
  if (!entries.length && !problems.size) problems.add(undefined, 'has no items');
  const placed: Placed[] = [];
  const seen = new Map<string, number>();
  for (const e of entries) {
    if (typeof e.value !== 'object' || e.value === null || Array.isArray(e.value)) {
      problems.add(e.line, 'expected an object with at least a "prompt"');
      continue;
    }
    const parsed = ItemSchema.safeParse(e.value);
    if (!parsed.success) {
      for (const p of schemaProblems(parsed.error.issues)) problems.field(e.line, p.field, p.message);
      continue;
    }
    const item = { ...parsed.data, id: parsed.data.id ?? e.defaultId } as ImageItem;
    for (const p of itemRuleProblems(item, options.provider)) problems.field(e.line, p.field, p.message);
    checkReferences(item, e.line, roots, problems);
    const dup = seen.get(item.id);
    if (dup) problems.field(e.line, 'id', `'${item.id}' is used already (at line ${dup})`);
    else {
      seen.set(item.id, e.line);
      placed.push({ item, line: e.line });
    }
  }
  for (const c of nameCollisions(placed)) problems.field(c.line, c.problem.field, c.problem.message);
  if (problems.size) throw new ItemsFileError(problems.list);
  return { file: path.resolve(file), items: placed.map((p) => p.item) };
}

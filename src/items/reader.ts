// Reads and validates an items file (.jsonl, .json array, or .txt with one prompt a line). Every problem is
// reported as `file:line: field: message`, all of them, before anything starts; the steps live beside this file:
// bytes to text (decode), text to entries (parse), the schema (fields), the rules beyond it (rules), reference
// images (references) and an item's own providers (item-providers); then variations (variations) and output names
// (filenames). A manifest.json is read as items too (manifest-entries).
import path from 'node:path';
import { ItemSchema } from '../shared/item-schema';
import type { ImageItem, ProviderKind } from '../shared/types';
import { decodeItemsText, readItemsBytes } from './decode';
import { ItemsFileError, stripControls } from './errors';
import { schemaProblems } from './fields';
import { checkFilenameFlag, type NamedItem, renderFilenames, takeTemplate } from './filenames';
import { looksLikeManifest, manifestEntries, parseOnly } from './manifest-entries';
import { entryOverImageLimit, type ItemsFormat, rawEntries, type RawEntry, tooManyImages } from './parse';
import { Problems } from './problems';
import { checkReference, referenceRoots, type RefRoots } from './references';
import { itemRuleProblems, nameCollisions } from './rules';
import { itemProviderProblems } from './item-providers';
import { expandVariations } from './variations';
import { UsageError } from '../shared/usage-error';
import { type BatchProviders, SIMULATED_BATCH } from '../shared/batch-types';

export { ItemsFileError } from './errors';

const FORMATS: Record<string, ItemsFormat> = { '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.json': 'json', '.txt': 'txt' };

export interface ItemsOptions {
  /** A folder reference images may come from besides the items file's (`--refs-dir`). */
  refsDir?: string;
  /**
   * The batch's providers (the provider plan's): an item without its own is sent to them, so must not set their
   * reserved request keys, and `{provider}` names the first. Default: a simulated batch's.
   */
  batch?: BatchProviders;
  /** `run`: the providers this process serves; an item naming another is refused (item-providers). */
  served?: readonly ProviderKind[];
  /** `--filename`: a template for the items that name no file of their own. */
  filename?: string;
  /** The batch id, for `{batch}` in a filename template. */
  batchId?: string;
  /** `--only failed,...`: which entries of a manifest to run again (a manifest only). */
  only?: string;
}

type BatchItemsOptions = ItemsOptions & { batch: BatchProviders };

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

/** The entries of the file: its items, or a manifest's entries (each as the item it was made from). */
function entriesOf(file: string, format: ItemsFormat, text: string, options: ItemsOptions) {
  const only = options.only === undefined ? undefined : parseOnly(options.only);
  if (format === 'json' && looksLikeManifest(file, text)) {
    const problems = new Problems(file, 'item');
    return { problems, entries: manifestEntries(text, problems, only) };
  }
  if (only) throw new UsageError(`--only picks entries of a manifest.json; ${stripControls(file)} is an items file`);
  const problems = new Problems(file);
  return { problems, entries: rawEntries(format, text, problems) };
}

/** One entry: validated, its references checked, expanded into its variants. */
function itemsOfEntry(e: RawEntry, options: BatchItemsOptions, roots: RefRoots, problems: Problems): NamedItem[] {
  if (typeof e.value !== 'object' || e.value === null || Array.isArray(e.value)) {
    problems.add(e.line, 'expected an object with at least a "prompt"');
    return [];
  }
  const { value, template } = takeTemplate(e.value);
  const parsed = ItemSchema.safeParse(value);
  if (!parsed.success) {
    for (const p of schemaProblems(parsed.error.issues)) problems.field(e.line, p.field, p.message);
    return [];
  }
  const item = { ...parsed.data, id: parsed.data.id ?? e.defaultId } as ImageItem;
  for (const p of itemRuleProblems(item, options.batch)) problems.field(e.line, p.field, p.message);
  checkReferences(item, e.line, roots, problems);
  for (const p of itemProviderProblems(item, roots, options)) problems.field(e.line, p.field, p.message);
  const expanded = expandVariations(item);
  if ('problems' in expanded) {
    for (const p of expanded.problems) problems.field(e.line, p.field, p.message);
    return [];
  }
  const fresh = expanded.items.length > 1;
  return expanded.items.map((v) => ({ item: v, line: e.line, template, fresh }));
}

/** Reads and validates; throws ItemsFileError with every problem (UsageError for a bad --refs-dir, --filename or --only). */
export function readItemsFile(file: string, given: ItemsOptions = {}): ParsedItems {
  const options = { ...given, batch: given.batch ?? SIMULATED_BATCH };
  const ext = path.extname(file).toLowerCase();
  const format = FORMATS[ext];
  if (!format) {
    throw new ItemsFileError([`${file}: unsupported file type '${ext || '(none)'}': use .jsonl, .json or .txt`]);
  }
  if (options.filename !== undefined) checkFilenameFlag(options.filename);
  const text = decodeItemsText(file, readItemsBytes(file, format === 'json'));
  const roots = referenceRoots(file, options.refsDir);
  const { problems, entries } = entriesOf(file, format, text, options);
  if (!entries.length && !problems.size) problems.add(undefined, 'has no items');
  const over = entryOverImageLimit(entries);
  if (over) {
    problems.add(over.line, tooManyImages);
    throw new ItemsFileError(problems.list);
  }
  const placed: NamedItem[] = [];
  const seen = new Map<string, NamedItem>();
  for (const e of entries) {
    for (const named of itemsOfEntry(e, options, roots, problems)) {
      const { item, line } = named;
      const dup = seen.get(item.id);
      if (!dup) {
        seen.set(item.id, named);
        placed.push(named);
        continue;
      }
      const of = (n: NamedItem) => (n.fresh ? `a variant of '${n.item.group}'` : '');
      const mine = of(named) ? ` (${of(named)})` : '';
      const other = of(dup) ? `, ${of(dup)}` : '';
      problems.field(line, 'id', `'${item.id}'${mine} is used already (at ${problems.where(dup.line)}${other})`);
    }
  }
  renderFilenames(placed, { template: options.filename, batchId: options.batchId, batch: options.batch }, problems);
  for (const c of nameCollisions(placed)) {
    // Its messages name lines; a manifest's entries are items.
    const message =
      problems.unit === 'item' ? c.problem.message.replace(/\bline (\d+)/g, 'item $1') : c.problem.message;
    problems.field(c.line, c.problem.field, message);
  }
  if (problems.size) throw new ItemsFileError(problems.list);
  return { file: path.resolve(file), items: placed.map((p) => p.item) };
}

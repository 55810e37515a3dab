// A batch's manifest.json read as an items file: each entry becomes the item it was made from (its request fields,
// and the seed that made its image), so `imagebatch run out/b/manifest.json` asks for the same images again.
// `--only` picks entries by how they ended. An entry's "line" is its 1-based place in the manifest's items.
import path from 'node:path';
import { KEPT } from '../output/manifest-request';
import { UsageError } from '../shared/usage-error';
import { stripControls } from './errors';
import type { RawEntry } from './parse';
import type { Problems } from './problems';

export const ONLY_CHOICES = ['failed', 'cancelled', 'succeeded', 'simplified'] as const;
export type OnlyChoice = (typeof ONLY_CHOICES)[number];

/** `--only failed,simplified`: the choices, or exit 2 naming the one that is not. */
export function parseOnly(value: string): OnlyChoice[] {
  const picked = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = picked.find((p) => !(ONLY_CHOICES as readonly string[]).includes(p));
  if (bad !== undefined || !picked.length)
    throw new UsageError(
      `--only '${stripControls(bad ?? value)}': use ${ONLY_CHOICES.join(', ')} (a comma-separated list picks several)`,
    );
  return picked as OnlyChoice[];
}

/** A file named manifest.json, or a .json document that is an object (an items .json is an array). */
export function looksLikeManifest(file: string, text: string): boolean {
  return path.basename(file).toLowerCase() === 'manifest.json' || text.trimStart().startsWith('{');
}

type Entry = Record<string, unknown>;

function matches(entry: Entry, only: readonly OnlyChoice[]): boolean {
  return only.some((o) =>
    o === 'simplified' ? Array.isArray(entry.prompts) && entry.prompts.length > 1 : entry.status === o,
  );
}

/** Copied as they are: the request fields an entry carries, but the prompt (read with its fallbacks). */
const REQUEST_FIELDS = KEPT.filter((f) => f !== 'prompt');

/**
 * The item an entry was made from. The entry's `seed` is the one that made the image (else the item's); `provider`
 * and `model` are what served it, so the item's own choice (`itemProvider`, `itemModel`) is what is asked for again.
 * A manifest from before entries carried requests still gives the original prompt (the first prompt tried).
 */
export function itemOfEntry(entry: Entry): Entry {
  const item: Entry = { id: entry.id };
  const prompts = Array.isArray(entry.prompts) ? (entry.prompts as unknown[]) : [];
  const prompt = entry.prompt ?? prompts[0];
  if (prompt !== undefined) item.prompt = prompt;
  for (const key of REQUEST_FIELDS) if (entry[key] !== undefined && entry[key] !== null) item[key] = entry[key];
  if (entry.itemProvider !== undefined) item.provider = entry.itemProvider;
  if (entry.itemModel !== undefined) item.model = entry.itemModel;
  return item;
}

/** The entries to run again (all, or those `only` picks), each as an item with its place in the manifest. */
export function manifestEntries(text: string, problems: Problems, only?: readonly OnlyChoice[]): RawEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    problems.add(undefined, `not valid JSON: ${(err as Error).message}`);
    return [];
  }
  const items = (doc as { items?: unknown } | null)?.items;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || !Array.isArray(items)) {
    problems.add(undefined, 'expected a JSON array of items, or an imagebatch manifest (an object with "items")');
    return [];
  }
  const out: RawEntry[] = [];
  items.forEach((entry: unknown, i) => {
    const line = i + 1;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.add(line, 'expected a manifest entry (an object with id and prompt)');
      return;
    }
    if (only && !matches(entry as Entry, only)) return;
    out.push({ line, value: itemOfEntry(entry as Entry), defaultId: String(line) });
  });
  if (only && !out.length && !problems.size) problems.add(undefined, `no entry is ${only.join(' or ')} (--only)`);
  return out;
}

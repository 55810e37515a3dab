// The items copy: a batch whose items are too large to travel in its workflow input gets them written into its
// folder, and workers page them in (checked by sha256, so an edited copy fails the batch instead of changing it).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { ItemsSource } from '../shared/batch-types';
import type { ImageItem } from '../shared/types';
import { batchFolder } from './batch-folder';
import { ownFolder, replaceFile } from './safe-write';

/** Over this, items go to the items copy, so no payload nears Temporal's 2 MB limit. */
export const INLINE_LIMIT_BYTES = 256 * 1024;
export const PAGE_SIZE = 500;
/** A page is an activity's result: at most this much, well under Temporal's 2 MB payload limit. */
export const PAGE_LIMIT_BYTES = 1024 * 1024;

export class ItemsCopyChanged extends Error {
  name = 'ItemsCopyChanged';
}

/** Small lists travel inline; large ones are written to the items copy of the batch folder `dir`. */
export function itemsSourceFor(items: ImageItem[], dir: string): ItemsSource {
  const lines = items.map((i) => JSON.stringify(i));
  const text = lines.join('\n') + '\n';
  if (Buffer.byteLength(text) <= INLINE_LIMIT_BYTES) return { kind: 'inline', items };
  const file = batchFolder(dir).itemsCopy;
  ownFolder(batchFolder(dir).stateDir);
  replaceFile(file, text);
  return {
    kind: 'file',
    path: file,
    sha256: createHash('sha256').update(text).digest('hex'),
    count: items.length,
    pageSize: pageSizeFor(lines),
  };
}

/** As many items a page as fit PAGE_LIMIT_BYTES at the size of the largest (items are at most 100 KB each). */
export function pageSizeFor(lines: string[]): number {
  const largest = lines.reduce((most, l) => Math.max(most, Buffer.byteLength(l)), 1);
  return Math.max(1, Math.min(PAGE_SIZE, Math.floor(PAGE_LIMIT_BYTES / largest)));
}

/** One parsed copy per process: paging a 100,000-item file must not re-read it per page. */
let cached: { key: string; items: ImageItem[] } | undefined;

/** The items of a source, inline or read from its copy (which must still have the sha256 it started with). */
export async function readItems(source: ItemsSource): Promise<ImageItem[]> {
  if (source.kind === 'inline') return source.items;
  const key = `${source.path}\u0000${source.sha256}`;
  if (cached?.key === key) return cached.items;
  const data = await fs.promises.readFile(source.path);
  const actual = createHash('sha256').update(data).digest('hex');
  if (actual !== source.sha256) {
    throw new ItemsCopyChanged(
      `items file ${source.path} changed since the batch started (sha256 ${actual}, expected ${source.sha256})`,
    );
  }
  const items = data
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as ImageItem);
  cached = { key, items };
  return items;
}

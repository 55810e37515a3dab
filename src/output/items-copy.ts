// The items copy: a batch whose items are too large to travel in its workflow input gets them written among its files
// (a folder or a bucket), and workers page them in (checked by sha256, so an edited copy fails the batch instead of
// changing it).
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { ItemsSource } from '../shared/batch-types';
import type { ImageItem } from '../shared/types';
import { isBucketLocation, type StoredFile } from '../storage/batch-store';
import { FolderStore } from '../storage/folder-store';
import { openStore } from '../storage/open-store';
import { BATCH_FILES } from './batch-folder';

/** Over this, items go to the items copy, so no payload nears Temporal's 2 MB limit. */
export const INLINE_LIMIT_BYTES = 256 * 1024;
export const PAGE_SIZE = 500;
/** A page is an activity's result: at most this much, well under Temporal's 2 MB payload limit. */
export const PAGE_LIMIT_BYTES = 1024 * 1024;

export class ItemsCopyChanged extends Error {
  name = 'ItemsCopyChanged';
}

/** Inline, or the copy to write and the source that names it (`where`: the copy's path or URL). */
function plan(items: ImageItem[], where: (name: string) => string): { source: ItemsSource; copy?: StoredFile } {
  const lines = items.map((i) => JSON.stringify(i));
  const text = lines.join('\n') + '\n';
  if (Buffer.byteLength(text) <= INLINE_LIMIT_BYTES) return { source: { kind: 'inline', items } };
  const source: ItemsSource = {
    kind: 'file',
    path: where(BATCH_FILES.itemsCopy),
    sha256: createHash('sha256').update(text).digest('hex'),
    count: items.length,
    pageSize: pageSizeFor(lines),
  };
  return { source, copy: { name: BATCH_FILES.itemsCopy, data: text } };
}

/** Small lists travel inline; large ones are written to the items copy of the batch folder `dir`. */
export function itemsSourceFor(items: ImageItem[], dir: string): ItemsSource {
  const store = new FolderStore(dir);
  const { source, copy } = plan(items, (name) => store.where(name));
  if (copy) store.writeNow([copy]);
  return source;
}

/** As itemsSourceFor, for a batch at `location`, a folder or a bucket. */
export async function storeItemsSource(items: ImageItem[], location: string): Promise<ItemsSource> {
  const store = openStore(location);
  const { source, copy } = plan(items, (name) => store.where(name));
  if (copy) await store.write([copy]);
  return source;
}

/** As many items a page as fit PAGE_LIMIT_BYTES at the size of the largest (items are at most 100 KB each). */
export function pageSizeFor(lines: string[]): number {
  const largest = lines.reduce((most, l) => Math.max(most, Buffer.byteLength(l)), 1);
  return Math.max(1, Math.min(PAGE_SIZE, Math.floor(PAGE_LIMIT_BYTES / largest)));
}

/** The copy's bytes, from the store of the folder (or bucket prefix) it is in. */
async function readCopy(file: string): Promise<Buffer> {
  const [where, name] = isBucketLocation(file)
    ? [file.slice(0, file.lastIndexOf('/')), file.slice(file.lastIndexOf('/') + 1)]
    : [path.dirname(file), path.basename(file)];
  const data = await openStore(where).read(name);
  if (!data) throw Object.assign(new Error(`ENOENT: the items copy ${file} is not there`), { code: 'ENOENT' });
  return data;
}

/** One parsed copy per process: paging a 100,000-item file must not re-read it per page. */
let cached: { key: string; items: ImageItem[] } | undefined;

/** The items of a source, inline or read from its copy (which must still have the sha256 it started with). */
export async function readItems(source: ItemsSource): Promise<ImageItem[]> {
  if (source.kind === 'inline') return source.items;
  const key = `${source.path}\u0000${source.sha256}`;
  if (cached?.key === key) return cached.items;
  const data = await readCopy(source.path);
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

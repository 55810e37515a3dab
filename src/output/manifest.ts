// manifest.json: one entry per item of the batch (and of the batch it retries), built from the results log and
// written atomically when the batch ends.
import fs from 'node:fs';
import type { ResultRecord } from '../shared/batch-types';
import type { ImageResult, ProviderKind } from '../shared/types';
import { openStore } from '../storage/open-store';
import { BATCH_FILES, batchFolder } from './batch-folder';
import { imageEntryName } from './image-file';
import type { ImageSize } from './image-size';
import type { ManifestRequest } from './manifest-request';

/** The entry carries its item's request too (manifest-request.ts): `imagebatch run manifest.json` reuses it. */
export interface ManifestEntry extends Omit<ImageResult, 'itemId' | 'file' | 'status'>, ManifestRequest {
  id: string;
  /** `queued`: not run yet, in a batch that stopped (its budget is spent) and can be resumed. */
  status: ImageResult['status'] | 'queued';
  /** Relative to the batch folder. */
  file: string | null;
  /** The stored image's size, from its header when stored (the request's `width`/`height` may differ). */
  imageSize?: ImageSize;
}

export interface Manifest {
  batchId: string;
  /** Why the batch stopped with items not run (its budget is spent); absent once it has ended. */
  stopped?: string;
  retryOf?: string;
  /** The provider simulator made the images, not a real provider. */
  simulated?: boolean;
  /** When the batch started (absent when the workflow did not say). */
  startedAt?: string;
  writtenAt: string;
  counts: Record<string, number>;
  items: ManifestEntry[];
}

/** The manifest of a local batch folder, or undefined when there is none to read. */
export function readManifest(dir: string): Manifest | undefined {
  try {
    return JSON.parse(fs.readFileSync(batchFolder(dir).manifest, 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

/** The manifest of a batch wherever it is (a folder or a bucket); undefined when there is none or it is not JSON. */
export async function readStoredManifest(location: string): Promise<Manifest | undefined> {
  const data = await openStore(location).read(BATCH_FILES.manifest);
  try {
    return data && (JSON.parse(data.toString('utf8')) as Manifest);
  } catch {
    return undefined;
  }
}

/** The manifest of the items `ids` (in that order) from their latest results; an item with none is cancelled. */
export function buildManifest(o: {
  dir: string;
  batchId: string;
  retryOf?: string;
  ids: string[];
  latest: Map<string, ResultRecord>;
  cancelled: boolean;
  /** The batch stopped, open, with items not run (why, in words); they are listed as queued. */
  stopped?: string;
  provider: ProviderKind;
  simulated?: boolean;
  /** Per item id: the request it made (requestsFor), so the manifest can be run again as an items file. */
  requests?: Map<string, ManifestRequest>;
  startedAt?: string;
  now: Date;
}): Manifest {
  const counts: Record<string, number> = { succeeded: 0, failed: 0, cancelled: 0, skipped: 0 };
  const items = o.ids.map((id): ManifestEntry => {
    const r = o.latest.get(id);
    const request = o.requests?.get(id);
    if (!r) {
      const status = o.stopped ? 'queued' : 'cancelled';
      counts[status] = (counts[status] ?? 0) + 1;
      const error = o.stopped
        ? `not run yet: ${o.stopped}`
        : o.cancelled
          ? 'batch cancelled before the item started'
          : 'no result recorded';
      return { id, ...request, status, file: null, provider: o.provider, attempts: 0, prompts: [], error };
    }
    counts[r.status]++;
    if (r.skipped) counts.skipped++;
    // `imageSize` is the image's own, read from its header when it was stored (`width`/`height` are the request's: a
    // provider may answer another); the images are not read again here, wherever they are.
    const { itemId: _i, at: _a, seq: _s, file, imageSize, ...rest } = r;
    return {
      id,
      ...request,
      ...rest,
      file: file ? imageEntryName(o.dir, file) : null,
      ...(imageSize && r.status === 'succeeded' ? { imageSize } : {}),
    };
  });
  return {
    batchId: o.batchId,
    retryOf: o.retryOf,
    ...(o.simulated ? { simulated: true } : {}),
    stopped: o.stopped,
    ...(o.startedAt ? { startedAt: o.startedAt } : {}),
    writtenAt: o.now.toISOString(),
    counts,
    items,
  };
}

/** Written whole (a folder's: tmp file, then rename, never through a link). Returns where the manifest is. */
export async function writeManifestFile(dir: string, manifest: Manifest): Promise<string> {
  const store = openStore(dir);
  await store.write([{ name: BATCH_FILES.manifest, data: JSON.stringify(manifest, null, 2) }]);
  return store.where(BATCH_FILES.manifest);
}

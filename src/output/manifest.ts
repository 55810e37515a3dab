// manifest.json: one entry per item of the batch (and of the batch it retries), built from the results log and
// written atomically when the batch ends.
import fs from 'node:fs';
import type { ResultRecord } from '../shared/batch-types';
import type { ImageResult, ProviderKind } from '../shared/types';
import { batchFolder } from './batch-folder';
import { imageEntryName, storedImageSize } from './image-file';
import type { ImageSize } from './image-size';
import type { ManifestRequest } from './manifest-request';
import { makeFolder, replaceFile } from './safe-write';

/** The entry carries its item's request too (manifest-request.ts): `imagebatch run manifest.json` reuses it. */
export interface ManifestEntry extends Omit<ImageResult, 'itemId' | 'file' | 'status'>, ManifestRequest {
  id: string;
  /** `queued`: not run yet, in a batch that stopped (its budget is spent) and can be resumed. */
  status: ImageResult['status'] | 'queued';
  /** Relative to the batch folder. */
  file: string | null;
  /** The stored image's size, from its header (the request's `width`/`height` may differ). */
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

export function readManifest(dir: string): Manifest | undefined {
  try {
    return JSON.parse(fs.readFileSync(batchFolder(dir).manifest, 'utf8')) as Manifest;
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
    const { itemId: _i, at: _a, seq: _s, file, ...rest } = r;
    // The image's own size, read from its header (`width`/`height` are the request's: a provider may answer another).
    const size = file && r.status === 'succeeded' ? storedImageSize(file) : undefined;
    return {
      id,
      ...request,
      ...rest,
      file: file ? imageEntryName(o.dir, file) : null,
      ...(size ? { imageSize: size } : {}),
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

/** Written whole (tmp file, then rename), never through a link. Returns the manifest's path. */
export async function writeManifestFile(dir: string, manifest: Manifest): Promise<string> {
  const target = batchFolder(dir).manifest;
  makeFolder(dir);
  replaceFile(target, JSON.stringify(manifest, null, 2));
  return target;
}

// manifest.json: one entry per item of the batch (and of the batch it retries), built from the results log and
// written atomically when the batch ends.
import fs from 'node:fs';
import path from 'node:path';
import type { ResultRecord } from '../shared/batch-types';
import type { ImageResult, ProviderKind } from '../shared/types';
import { batchFolder } from './batch-folder';
import { makeFolder, replaceFile } from './safe-write';

export interface ManifestEntry extends Omit<ImageResult, 'itemId' | 'file' | 'status'> {
  id: string;
  /** `queued`: not run yet, in a batch that stopped (its budget is spent) and can be resumed. */
  status: ImageResult['status'] | 'queued';
  /** Relative to the batch folder. */
  file: string | null;
}

export interface Manifest {
  batchId: string;
  /** Why the batch stopped with items not run (its budget is spent); absent once it has ended. */
  stopped?: string;
  retryOf?: string;
  /** The provider simulator made the images, not a real provider. */
  simulated?: boolean;
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
  now: Date;
}): Manifest {
  const counts: Record<string, number> = { succeeded: 0, failed: 0, cancelled: 0, skipped: 0 };
  const items = o.ids.map((id): ManifestEntry => {
    const r = o.latest.get(id);
    if (!r) {
      const status = o.stopped ? 'queued' : 'cancelled';
      counts[status] = (counts[status] ?? 0) + 1;
      const error = o.stopped
        ? `not run yet: ${o.stopped}`
        : o.cancelled
          ? 'batch cancelled before the item started'
          : 'no result recorded';
      return { id, status, file: null, provider: o.provider, attempts: 0, prompts: [], error };
    }
    counts[r.status]++;
    if (r.skipped) counts.skipped++;
    const { itemId: _i, at: _a, seq: _s, file, ...rest } = r;
    return { id, ...rest, file: file ? path.relative(o.dir, file) : null };
  });
  return {
    batchId: o.batchId,
    retryOf: o.retryOf,
    ...(o.simulated ? { simulated: true } : {}),
    stopped: o.stopped,
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

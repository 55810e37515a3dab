// Mirrors a batch's files from its bucket into a local folder, as a local run would have laid them out (the same
// relative names), so the gallery opens from the disk. A file whose local sha256 already matches is not downloaded
// again: images are checked against the manifest's sha256, other files against the sha256 stored with the object.
import { createHash } from 'node:crypto';
import type { Manifest } from '../output/manifest';
import { openBucketStore } from '../storage/bucket-store';
import { FolderStore } from '../storage/folder-store';

export interface PullResult {
  /** The local batch folder. */
  folder: string;
  downloaded: number;
  /** Files already there with the same sha256. */
  present: number;
  /** Keys under the batch that name no file inside it (`a/../b`, a console's `folder/` marker): left alone. */
  skipped: string[];
}

/** Downloads at once: a batch holds hundreds of images, each a request of its own. */
const PARALLEL = 8;

/** Written last, so a pull cut short never leaves a gallery that names images not yet here. */
const LAST = new Set(['manifest.json', 'index.html']);

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Mirrors the batch at `location` (`s3://…/<folder>`) into `folder`. */
export async function pullBatch(location: string, folder: string, env: NodeJS.ProcessEnv): Promise<PullResult> {
  const bucket = openBucketStore(location, env);
  const local = new FolderStore(folder);
  const listed = await bucket.list();
  const names = listed.filter(isFileName);
  const known = manifestSums(await bucket.read('manifest.json'));
  const result: PullResult = { folder, downloaded: 0, present: 0, skipped: listed.filter((n) => !isFileName(n)) };

  async function pull(name: string): Promise<void> {
    const here = await local.read(name);
    if (here) {
      const expected = known.get(name) ?? (await bucket.storedSha256(name));
      if (expected === sha256(here)) {
        result.present++;
        return;
      }
    }
    const data = await bucket.read(name);
    if (!data) return; // removed meanwhile (the submit journal, once its items reported)
    if (here?.equals(data)) {
      result.present++;
      return;
    }
    await local.write([{ name, data }]);
    result.downloaded++;
  }

  const first = names.filter((n) => !LAST.has(n));
  for (let i = 0; i < first.length; i += PARALLEL) await Promise.all(first.slice(i, i + PARALLEL).map(pull));
  for (const name of names.filter((n) => LAST.has(n))) await pull(name);
  return result;
}

/** A name that stays inside the batch's folder: no empty, `.` or `..` part (a key may have any of them). */
function isFileName(name: string): boolean {
  return !name.split('/').some((p) => p === '' || p === '.' || p === '..' || p.includes('\\'));
}

/** Each stored image's sha256 from the manifest, by its name in the batch. */
function manifestSums(data: Buffer | undefined): Map<string, string> {
  const sums = new Map<string, string>();
  if (!data) return sums;
  try {
    const manifest = JSON.parse(data.toString('utf8')) as Manifest;
    for (const e of manifest.items ?? []) if (e.file && e.sha256) sums.set(e.file, e.sha256);
  } catch {
    // Not a manifest imagebatch can read: every file is checked against its object's own sha256.
  }
  return sums;
}

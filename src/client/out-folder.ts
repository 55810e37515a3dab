// `--out`: the batch folder must be one this process (its worker) can create and write, or the bucket one its workers
// can write, found out before anything starts rather than by an item that fails after the provider was paid.
import fs from 'node:fs';
import path from 'node:path';
import { isBucketLocation } from '../storage/batch-store';
import { batchLocation } from '../storage/s3-location';
import { UsageError } from './exit-codes';

/** Where a batch's files go under `--out`: `<out>/<batchId>` (absolute), or `s3://BUCKET/PREFIX/<batchId>`. */
export function batchLocationOf(out: string, batchId: string): string {
  return isBucketLocation(out) ? batchLocation(out, batchId) : path.resolve(out, batchId);
}

/**
 * A bucket is asked (UsageError naming it, exit 2; StorageUnreachable, exit 3), with this process's credentials: a
 * `start`'s workers elsewhere need their own, which this cannot see. A folder: checkBatchFolder.
 */
export async function checkOutput(location: string): Promise<void> {
  // Loaded here, not at startup: it loads the AWS SDK, which a local batch never needs.
  if (isBucketLocation(location)) await (await import('../storage/check-bucket.js')).checkBucket(location);
  else checkBatchFolder(location);
}

/** For a bucket's batch: the command that copies its files here (the folder is named by its last part). */
export function pullCommand(location: string): string | undefined {
  if (!isBucketLocation(location)) return undefined;
  return `imagebatch pull ${location.slice(location.lastIndexOf('/') + 1)} --out DIR`;
}

const REASONS: Record<string, string> = {
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOSPC: 'no space left',
};

/** Throws a UsageError with the reason when `batchDir` cannot be created or written; creates nothing. */
export function checkBatchFolder(batchDir: string): void {
  const fail = (why: string) => new UsageError(`--out: cannot create or write the batch folder ${batchDir}: ${why}`);
  // The deepest part of the path that exists must be a folder: a file there is in the way.
  let existing = batchDir;
  for (;;) {
    const st = statOrUndefined(existing, fail);
    if (st?.isDirectory()) break;
    if (st) throw fail(`${existing} is not a folder`);
    const parent = path.dirname(existing);
    if (parent === existing) throw fail('no part of the path exists');
    existing = parent;
  }
  // A probe folder made and removed: the only test a read-only filesystem or a root user answers truly.
  try {
    fs.rmdirSync(fs.mkdtempSync(path.join(existing, '.imagebatch-probe-')));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw fail(`${existing} cannot be written (${REASONS[e.code ?? ''] ?? e.code ?? e.message})`);
  }
}

function statOrUndefined(p: string, fail: (why: string) => Error): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOTDIR: a file stands higher up the path; the walk up reaches it.
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw fail(`${p} cannot be read (${REASONS[code ?? ''] ?? code})`);
  }
}

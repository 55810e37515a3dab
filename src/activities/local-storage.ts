// Failures of the output folder itself (full, read-only, not writable, something in the way), or of the batch's
// bucket (unknown, denied, unreachable, failing), as one failure type, LocalStorage, with the reason in words.
// Retrying the same write does not help and resubmitting the image to the provider pays again for an image that
// cannot be stored, so the workflow fails the item and pauses the batch.
import { ApplicationFailure } from '@temporalio/activity';
import { ErrorType } from '../shared/errors';
import { isBucketLocation } from '../storage/batch-store';
import { type BucketFailure, bucketFailure } from '../storage/bucket-errors';

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a file is in the way of a folder',
  EEXIST: 'something is in the way',
  EISDIR: 'a folder is in the way of a file',
  ERR_FS_EISDIR: 'a folder is in the way of a file',
  ELOOP: 'a symbolic link is in the way (imagebatch never writes through one)',
  ENXIO: 'something other than a regular file is in the way',
};

/**
 * What does not heal by itself: something in the way (a symbolic link, a file where a folder goes or the reverse, a
 * device or pipe). Until someone removes it every retry fails the same way, so even the batch's own files fail at
 * once (the batch pauses with the reason and writes again on resume). A full disk or quota may clear: those wait.
 */
const IN_THE_WAY = new Set(['ELOOP', 'ENOTDIR', 'EISDIR', 'ERR_FS_EISDIR', 'EEXIST', 'ENXIO']);

/** Why the folder cannot be written, in words, when `err` is such a failure. */
export function localStorageReason(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code ? REASONS[code] : undefined;
}

/** `s3://BUCKET/...`'s bucket. */
const bucketOf = (location: string) => location.slice('s3://'.length).split('/')[0];

/**
 * A bucket's failure bucketFailure has no words for (an answer the SDK cannot parse, a redirect): still the bucket's.
 * Retried only where a retry cannot pay again (`retryBucket`), as a busy server is: an unworded error left as it is
 * would be retried by every activity, a synchronous provider's included, which would pay for the image again.
 */
function unforeseen(err: unknown): BucketFailure {
  const name = (err as Error | undefined)?.name || 'Error';
  return { reason: `the request failed (${name})`, retryable: true, unreachable: false };
}

/**
 * Runs a write in the output folder `dir` (or the bucket it names); a failure of the folder or bucket becomes a
 * LocalStorage failure that says so. `retry`: the activity's retry policy tries again (the batch's own files: it
 * waits until there is room), unless something is in the way (IN_THE_WAY); else non-retryable (an item: the workflow
 * decides). A bucket's failure that heals by itself (a busy server, a cut connection) is retried when `retryBucket`
 * (default `retry`): an activity whose retry cannot pay again (a collect polls the same task) passes true.
 */
export async function writingIn<T>(
  dir: string,
  retry: boolean,
  fn: () => T | Promise<T>,
  retryBucket = retry,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err; // already worded (a bad image)
    const bucket = isBucketLocation(dir) ? (bucketFailure(err) ?? unforeseen(err)) : undefined;
    if (bucket) {
      throw ApplicationFailure.create({
        type: ErrorType.LocalStorage,
        message: `the bucket ${bucketOf(dir)} cannot be used (${dir}): ${bucket.reason}`,
        nonRetryable: !retryBucket || !bucket.retryable,
      });
    }
    const reason = localStorageReason(err);
    if (!reason) throw err;
    const where = (err as NodeJS.ErrnoException).path;
    throw ApplicationFailure.create({
      type: ErrorType.LocalStorage,
      message: `the output folder ${dir} cannot be written: ${reason}${where ? ` (${where})` : ''}`,
      nonRetryable: !retry || IN_THE_WAY.has((err as NodeJS.ErrnoException).code ?? ''),
    });
  }
}

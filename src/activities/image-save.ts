// A provider's image (base64 in its answer, or a URL to download at once) checked and stored at the item's path:
// the one step after a collect's finished task and after a synchronous provider's call.
import { cancellationSignal } from '@temporalio/activity';
import { type ImageRef, transient } from '../providers/types';
import type { EmbeddedMetadata } from '../output/image-metadata';
import type { OutputTarget, StoredImage } from '../shared/types';
import { badImage, toFailure } from './failures';
import { findExistingImage, ImageRejected, storeImage } from '../output/image-file';
import { downloadImage } from './image-download';
import { writingIn } from './local-storage';

/**
 * An output already stored, before anything is paid. A bucket that cannot be asked fails as LocalStorage: at once when
 * a person must act (denied, unknown), retried when it heals (busy, unreachable) unless `retryBucket` is false;
 * nothing is submitted meanwhile.
 */
export function existingImage(target: OutputTarget, retryBucket = true): Promise<StoredImage | undefined> {
  return writingIn(target.outDir, false, () => findExistingImage(target), retryBucket);
}

/**
 * `what` names the image in failures: `task <id>`, or the provider call. `meta` goes into the file. `retryBucket`: a
 * bucket's passing failure (busy, unreachable) is retried by the activity, for an activity whose retry pays nothing
 * (a collect polls the same task again); a synchronous provider's would pay again, so it fails the item as a disk does.
 */
export async function saveImage(
  target: OutputTarget,
  ref: ImageRef,
  what: string,
  o: { maxImageBytes?: number; meta?: EmbeddedMetadata; retryBucket?: boolean } = {},
): Promise<StoredImage> {
  const { maxImageBytes, meta } = o;
  const data = await imageBytes(ref, what, maxImageBytes);
  // A full or read-only folder: the image is paid for and cannot be stored; polling or resubmitting cannot help.
  return writingIn(
    target.outDir,
    false,
    () =>
      storeImage(target, data, maxImageBytes, meta).catch((err: unknown) => {
        throw err instanceof ImageRejected ? badImage(`${what}: ${err.message}`) : err;
      }),
    Boolean(o.retryBucket),
  );
}

async function imageBytes(ref: ImageRef, what: string, maxImageBytes?: number): Promise<Buffer> {
  if ('base64' in ref) return Buffer.from(ref.base64, 'base64');
  try {
    return await downloadImage(ref.url, maxImageBytes, cancellationSignal());
  } catch (err) {
    if (err instanceof ImageRejected) throw badImage(`${what}: ${err.message}`);
    // A cut connection: the next attempt polls again and downloads again.
    if (!cancellationSignal().aborted) throw toFailure(transient(`${what}: download: ${(err as Error).message}`));
    throw err;
  }
}

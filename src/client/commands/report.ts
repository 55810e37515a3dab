// `imagebatch report BATCH [--out DIR] [--open]`: writes the batch's gallery (index.html) again from the manifest in
// its folder (or bucket), prints the page's path (or URL), and opens it when asked (a local one).
import fs from 'node:fs';
import path from 'node:path';
import { BATCH_FILES, batchFolder } from '../../output/batch-folder';
import { writeGallery, writeGalleryFile } from '../../output/gallery';
import { readManifest, readStoredManifest } from '../../output/manifest';
import { isBucketLocation } from '../../storage/batch-store';
import { batchLocation } from '../../storage/s3-location';
import { pullCommand } from '../out-folder';
import { SAFE_NAME } from '../../shared/item-schema';
import { batchInputOf, findBatch } from '../batch-lookup';
import { EXIT, UsageError } from '../exit-codes';
import { openFile } from '../open-file';
import { withSession } from '../session';

export interface GalleryReportFlags {
  /** The folder the batch ran with `--out`: its folder is `<out>/<batch>`, found without asking Temporal. */
  out?: string;
  open?: boolean;
  db?: string;
}

export async function galleryReportCommand(batchId: string, flags: GalleryReportFlags): Promise<number> {
  // The id becomes a path: nothing that could leave the output folder.
  if (!SAFE_NAME.test(batchId)) throw new UsageError(`'${batchId}' is not a batch id`);
  const dir = flags.out
    ? isBucketLocation(flags.out)
      ? batchLocation(flags.out, batchId)
      : path.join(flags.out, batchId)
    : await folderOfBatch(batchId, flags.db);
  if (isBucketLocation(dir)) return bucketReport(batchId, dir, Boolean(flags.open));
  const manifestFile = batchFolder(dir).manifest;
  if (!fs.existsSync(dir)) {
    const retry = /-r\d+$/.test(batchId) ? ' (a retry batch writes into the folder of the batch it retries)' : '';
    throw new UsageError(`batch ${batchId} has no folder here: ${dir} does not exist${retry}`);
  }
  if (!fs.existsSync(manifestFile))
    throw new UsageError(`batch ${batchId} has no manifest yet (${manifestFile}): it is written when the batch ends`);
  const manifest = readManifest(dir);
  if (!manifest?.items) throw new UsageError(`${manifestFile} is not a manifest imagebatch can read`);
  let page: string;
  try {
    page = writeGalleryFile(dir, manifest);
  } catch (err) {
    console.error(`imagebatch: cannot write the gallery in ${dir}: ${(err as Error).message}`);
    return EXIT.someFailed;
  }
  console.log(page);
  if (flags.open && !openFile(page)) {
    // The page is written, which is what was asked; only the viewer is missing.
    console.error(`imagebatch: found nothing to open it with (xdg-open, open or start); open ${page} in a browser`);
  }
  return EXIT.ok;
}

/**
 * A bucket's batch: the gallery is written again in the bucket, from the manifest there. It cannot be opened from
 * there (the page shows images beside it): `--open` is refused, saying to pull the batch first.
 */
async function bucketReport(batchId: string, location: string, open: boolean): Promise<number> {
  const pull = pullCommand(location);
  if (open)
    throw new UsageError(
      `batch ${batchId} is in a bucket (${location}): \`${pull}\` copies it here, then open DIR/${batchId}/index.html`,
    );
  // Worded as every command words a bucket (exit 2 naming the bucket and its endpoint; 3 when it cannot be reached).
  const { bucketCliError } = await import('../../storage/check-bucket.js');
  const refused = (err: unknown) => {
    throw bucketCliError(err, location);
  };
  const manifest = await readStoredManifest(location).catch(refused);
  if (!manifest?.items)
    throw new UsageError(
      `batch ${batchId} has no manifest imagebatch can read yet (${location}/${BATCH_FILES.manifest}): it is written when the batch ends`,
    );
  console.log(await writeGallery(location, manifest).catch(refused));
  return EXIT.ok;
}

/** The batch's folder as its workflow was started with it (a retry batch writes into the folder of the one it retries). */
async function folderOfBatch(batchId: string, db?: string): Promise<string> {
  return withSession(async (session) => {
    const batch = await findBatch(session.client, batchId);
    return (await batchInputOf(session.client, batch.handle)).outDir;
  }, db);
}

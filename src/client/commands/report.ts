// `imagebatch report BATCH [--out DIR] [--open]`: writes the batch's gallery (index.html) again from the manifest in
// its folder, prints the page's path, and opens it when asked.
import fs from 'node:fs';
import path from 'node:path';
import { batchFolder } from '../../output/batch-folder';
import { writeGalleryFile } from '../../output/gallery';
import { readManifest } from '../../output/manifest';
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
  const dir = flags.out ? path.join(flags.out, batchId) : await folderOfBatch(batchId, flags.db);
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

/** The batch's folder as its workflow was started with it (a retry batch writes into the folder of the one it retries). */
async function folderOfBatch(batchId: string, db?: string): Promise<string> {
  return withSession(async (session) => {
    const batch = await findBatch(session.client, batchId);
    return (await batchInputOf(session.client, batch.handle)).outDir;
  }, db);
}

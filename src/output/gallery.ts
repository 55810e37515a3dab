// The batch's gallery, `index.html` beside its manifest: built from the manifest, written whole.
import { openStore } from '../storage/open-store';
import { FolderStore } from '../storage/folder-store';
import { BATCH_FILES } from './batch-folder';
import { galleryData } from './gallery-data';
import { galleryPage } from './gallery-page';
import type { Manifest } from './manifest';

export function buildGallery(manifest: Manifest): string {
  return galleryPage(galleryData(manifest));
}

/** Written as the manifest is (a folder's: tmp file, then rename; never through a link). Returns the page's path. */
export function writeGalleryFile(dir: string, manifest: Manifest): string {
  const store = new FolderStore(dir);
  store.writeNow([{ name: BATCH_FILES.gallery, data: buildGallery(manifest) }]);
  return store.where(BATCH_FILES.gallery);
}

/** As writeGalleryFile, for a batch at `location`, a folder or a bucket. Returns where the page is. */
export async function writeGallery(location: string, manifest: Manifest): Promise<string> {
  const store = openStore(location);
  await store.write([{ name: BATCH_FILES.gallery, data: buildGallery(manifest) }]);
  return store.where(BATCH_FILES.gallery);
}

// The batch's gallery, `<out>/<batchId>/index.html`: built from the manifest, written whole beside it.
import { batchFolder } from './batch-folder';
import { galleryData } from './gallery-data';
import { galleryPage } from './gallery-page';
import type { Manifest } from './manifest';
import { makeFolder, replaceFile } from './safe-write';

export function buildGallery(manifest: Manifest): string {
  return galleryPage(galleryData(manifest));
}

/** Written as the manifest is (tmp file, then rename; never through a link). Returns the page's path. */
export function writeGalleryFile(dir: string, manifest: Manifest): string {
  const target = batchFolder(dir).gallery;
  makeFolder(dir);
  replaceFile(target, buildGallery(manifest));
  return target;
}

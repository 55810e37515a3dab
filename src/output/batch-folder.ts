// The layout of one batch's files, relative to the batch (`<out>/<batchId>/` or `s3://BUCKET/PREFIX/<batchId>/`): its
// images, manifest.json and index.html (the gallery) at the top, and the batch's own files under `.imagebatch/`. Every
// other module asks here for a name (or, for an image and its sidecar, image-file.ts); none builds one itself. Names
// are `/`-separated: the store (src/storage) maps them to a path or a key.
import path from 'node:path';

const STATE = '.imagebatch';

export const BATCH_FILES = {
  /** The items of a batch too large to travel inline, paged in by workers. */
  itemsCopy: `${STATE}/items.jsonl`,
  /** One line per reported item result, appended as the batch runs; the manifest is built from it. */
  resultsLog: `${STATE}/results.jsonl`,
  manifest: 'manifest.json',
  /** The gallery page, built from the manifest. */
  gallery: 'index.html',
  /** The submitted-task journal: one entry per item whose provider task is not yet collected. */
  tasks: `${STATE}/tasks/`,
  // Item ids are validated as safe file names before a batch starts.
  taskEntry: (itemId: string) => `${STATE}/tasks/${itemId}.json`,
} as const;

/** Files of the batch that are not images: the manifest, the gallery and the state folder. */
export function isBatchFile(relativePath: string): boolean {
  return (
    relativePath === BATCH_FILES.manifest ||
    relativePath === BATCH_FILES.gallery ||
    // A local path's separator, or a bucket name's `/`.
    relativePath.split(/[\\/]/)[0] === STATE
  );
}

/** A local batch folder's paths, for the code and tests that look at the disk itself. */
export function batchFolder(dir: string) {
  const at = (name: string) => path.join(dir, ...name.split('/'));
  return {
    dir,
    stateDir: path.join(dir, STATE),
    itemsCopy: at(BATCH_FILES.itemsCopy),
    resultsLog: at(BATCH_FILES.resultsLog),
    manifest: at(BATCH_FILES.manifest),
    gallery: at(BATCH_FILES.gallery),
    taskEntry: (itemId: string) => at(BATCH_FILES.taskEntry(itemId)),
  };
}

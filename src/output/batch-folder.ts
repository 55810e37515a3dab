// The layout of one batch's output folder, `<out>/<batchId>/`: its images, manifest.json and index.html (the
// gallery) at the top, and the batch's own files under `.imagebatch/`. Every other module asks here for a path (or,
// for an image and its sidecar, image-file.ts); none builds one itself.
import path from 'node:path';

export interface BatchFolder {
  /** `<out>/<batchId>`: the images and the manifest. */
  dir: string;
  /** `.imagebatch/`: the items copy, the results log and the submitted-task journal. */
  stateDir: string;
  /** The items of a batch too large to travel inline, paged in by workers. */
  itemsCopy: string;
  /** One line per reported item result, appended as the batch runs; the manifest is built from it. */
  resultsLog: string;
  manifest: string;
  /** The gallery page, built from the manifest. */
  gallery: string;
  /** The submitted-task journal: one entry per item whose provider task is not yet collected. */
  tasksDir: string;
  taskEntry(itemId: string): string;
}

export function batchFolder(dir: string): BatchFolder {
  const stateDir = path.join(dir, '.imagebatch');
  const tasksDir = path.join(stateDir, 'tasks');
  return {
    dir,
    stateDir,
    itemsCopy: path.join(stateDir, 'items.jsonl'),
    resultsLog: path.join(stateDir, 'results.jsonl'),
    manifest: path.join(dir, 'manifest.json'),
    gallery: path.join(dir, 'index.html'),
    tasksDir,
    // Item ids are validated as safe file names before a batch starts.
    taskEntry: (itemId) => path.join(tasksDir, `${itemId}.json`),
  };
}

/** Files of the folder that are not images: the manifest, the gallery and the state folder. */
export function isBatchFile(relativePath: string): boolean {
  return (
    relativePath === 'manifest.json' ||
    relativePath === 'index.html' ||
    relativePath.split(path.sep)[0] === '.imagebatch'
  );
}

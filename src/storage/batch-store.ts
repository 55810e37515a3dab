// One batch's files, wherever they are kept: a local folder (`<out>/<batchId>/`) or a bucket
// (`s3://BUCKET/PREFIX/<batchId>/`), in the same relative layout (batch-folder.ts names the files), so `aws s3 sync`
// of a prefix gives the folder a local run writes. A batch's location is a plain string that travels in workflow
// inputs (a folder path or an `s3://` URL, never a credential); each process opens it with its own environment.
//
// Keys are deterministic (an item's image name, the manifest, the gallery, one results part per recorded group), so
// a retried write puts the same bytes under the same name: idempotent.

/** A file to write: `name` is relative to the batch (`cat.png`, `.imagebatch/items.jsonl`), `/`-separated. */
export interface StoredFile {
  name: string;
  data: Buffer | string;
}

export interface BatchStore {
  /** The batch's location as given: a folder path or `s3://bucket/prefix/<batchId>`. */
  readonly location: string;
  /** `folder` or `bucket`: for messages and the few places that differ (a local gallery opens in a browser). */
  readonly kind: 'folder' | 'bucket';
  /** A file's bytes, or undefined when there is none. Any other failure (denied, unreachable) throws. */
  read(name: string): Promise<Buffer | undefined>;
  /**
   * Writes the files whole, in order (an image's sidecar before the image), each all or nothing: a reader never sees
   * half a file. A folder writes tmp + rename and never follows a link; a bucket PUTs each object.
   */
  write(files: StoredFile[]): Promise<void>;
  /**
   * Adds lines to a log (the results log): a folder appends to `name`; a bucket puts one part under
   * `<name>.d/<part>` (objects cannot be appended to). `part` is deterministic for the group of lines, so a retried
   * append writes the same part again instead of a second copy.
   */
  appendLines(name: string, lines: string[], part: string): Promise<void>;
  /** Every line of a log written by appendLines, in the order written (a bucket's parts in name order). */
  readLines(name: string): Promise<string[]>;
  /**
   * The names of the files under `folder` (relative to the batch, `/`-separated; a trailing `/` or none), by name:
   * `.imagebatch/tasks` is a folder, not a prefix of `.imagebatch/tasks-old/`.
   */
  list(folder?: string): Promise<string[]>;
  /**
   * Which of `names` are files of the batch, in the order given: one request for a bucket (a list of the names'
   * common prefix, where reading each would be a GET per name), since an image's names differ only by extension.
   */
  present(names: string[]): Promise<string[]>;
  /** Removes the files under `prefix` (the submit journal once every item has reported); absent files are fine. */
  remove(prefix: string): Promise<void>;
  /** Where a file is, for people: a local path, or its `s3://` URL. */
  where(name: string): string;
}

/** Whether `name` is `folder` itself or a file under it (`folder` with a trailing `/` or none; '' is the batch). */
export function isUnder(name: string, folder: string): boolean {
  const f = folder.replace(/\/+$/, '');
  return !f || name === f || name.startsWith(`${f}/`);
}

/** A location is a bucket's when it is an `s3://` URL. */
export const isBucketLocation = (location: string): boolean => location.startsWith('s3://');

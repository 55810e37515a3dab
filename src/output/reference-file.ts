// What a local reference image may be, checked twice: by the items reader before a batch starts, and by the activity
// that reads it (the file may have changed since). One rule for both.
import fs from 'node:fs';
import { sniffImage } from './image-file';

/** Volcengine and DashScope both cap input images around 10-15 MB. */
const MAX_REFERENCE_BYTES = 10 * 1024 * 1024;
/** A FIFO opens at once with O_NONBLOCK (and is refused by fstat); a symlink swapped in fails with ELOOP. */
export const REFERENCE_OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;

/** What is wrong with a reference file from its fstat (and first bytes, when read), or undefined. */
export function referenceFault(st: fs.Stats, head?: Buffer): string | undefined {
  if (!st.isFile()) return 'is not a regular file';
  if (st.size > MAX_REFERENCE_BYTES) return `is ${st.size} bytes, over the ${MAX_REFERENCE_BYTES}-byte limit`;
  if (head && !sniffImage(head)) return 'is not a PNG, JPEG or WebP image';
  return undefined;
}

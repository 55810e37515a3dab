// An items file's bytes to text: a regular file within the size limit, no NUL bytes, valid UTF-8. Problems here
// stop the reading at once (there is nothing to parse), with the line of the first bad byte when there is one.
import fs from 'node:fs';
import { ItemsFileError } from './errors';

/** A `.json` file is parsed as one document: its size is capped before it is read. */
export const MAX_JSON_FILE_BYTES = 100_000_000;
/** `.jsonl` and `.txt` are read whole too; this keeps their text far below V8's largest string. */
export const MAX_LINES_FILE_BYTES = 200_000_000;

const fatalDecoder = () => new TextDecoder('utf-8', { fatal: true });

/** The offset of the first byte that makes `buf` invalid UTF-8 (a prefix decoded in stream mode may end mid-character). */
function firstInvalidByte(buf: Uint8Array): number {
  const valid = (end: number) => {
    try {
      fatalDecoder().decode(buf.subarray(0, end), { stream: true });
      return true;
    } catch {
      return false;
    }
  };
  if (valid(buf.length)) return buf.length - 1; // only the last character is cut off
  let [good, bad] = [0, buf.length];
  while (bad - good > 1) {
    const mid = (good + bad) >>> 1;
    if (valid(mid)) good = mid;
    else bad = mid;
  }
  return bad - 1;
}

function lineOf(buf: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = buf.indexOf(0x0a); i !== -1 && i < offset; i = buf.indexOf(0x0a, i + 1)) line++;
  return line;
}

/** Decodes strictly: a U+FFFD written in the file is text, only bytes that are not UTF-8 are refused. */
export function decodeItemsText(file: string, buf: Uint8Array): string {
  if (buf.includes(0)) throw new ItemsFileError([`${file}: is a binary file (it contains NUL bytes), not text`]);
  try {
    return fatalDecoder().decode(buf); // drops a BOM
  } catch {
    const at = firstInvalidByte(buf);
    throw new ItemsFileError([`${file}:${lineOf(buf, at)}: is not valid UTF-8 text (byte ${at + 1} of the file)`]);
  }
}

/** Reads the file after checking that it is a regular file within its size limit (nothing is read otherwise). */
export function readItemsBytes(file: string, json: boolean): Buffer {
  const fail = (why: string) => new ItemsFileError([`${file}: ${why}`]);
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO given as the items file is refused below instead of blocking here.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    throw fail(`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw fail('is not a regular file');
    const limit = json ? MAX_JSON_FILE_BYTES : MAX_LINES_FILE_BYTES;
    if (st.size > limit)
      throw fail(`is ${st.size} bytes, over the ${limit}-byte limit for ${json ? 'a .json' : 'an items'} file`);
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

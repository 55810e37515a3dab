// Writes in a batch folder never go through a symbolic link or into a FIFO: someone who can write the folder (a
// shared output folder, an items file from elsewhere) could plant `results.jsonl -> ~/.bashrc` and have imagebatch
// append to that. Whole files are written to a fresh tmp file (O_EXCL) and renamed, which replaces a link at the
// final path instead of writing through it; appends open with O_NOFOLLOW and check that they opened a regular file.
import fs from 'node:fs';
import path from 'node:path';

const { O_WRONLY, O_CREAT, O_EXCL, O_APPEND } = fs.constants;
// Not defined on Windows, where links need privileges to create.
const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
// A FIFO with no reader would block the open for ever; with O_NONBLOCK it fails (ENXIO) instead.
const O_NONBLOCK = fs.constants.O_NONBLOCK ?? 0;

/** An error shaped like the system's (code, path), so callers classify it with the others. */
function inTheWay(code: string, file: string, what: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${what}: ${file}`), { code, path: file });
}

/** Creates the folder and its parents if missing; a failure names its real cause. */
export function makeFolder(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    // Node's recursive mkdir reports any failure under an existing folder (read-only, no permission) as ENOENT: one
    // level at a time, the step that fails gives the real reason.
    const parent = path.dirname(dir);
    if (parent !== dir && !fs.existsSync(parent)) makeFolder(parent);
    fs.mkdirSync(dir);
  }
}

/** Creates the folder if missing; refuses a link standing there, since everything written in it would land elsewhere. */
export function ownFolder(dir: string): void {
  makeFolder(dir);
  const st = fs.lstatSync(dir);
  if (st.isSymbolicLink()) throw inTheWay('ELOOP', dir, 'a symbolic link stands where a folder is wanted');
  if (!st.isDirectory()) throw inTheWay('ENOTDIR', dir, 'not a folder');
}

/**
 * Writes `file` whole: a fresh `<file>.tmp` (a stale one, or a link planted there, is removed first, never written
 * through), then a rename. On any failure the tmp file goes, so a full disk leaves no 0-byte `*.tmp` behind.
 * Synchronous: the items copy is written before a batch starts, where there is nothing else to do meanwhile.
 */
export function replaceFile(file: string, data: string | Buffer): void {
  const tmp = `${file}.tmp`;
  fs.rmSync(tmp, { force: true });
  try {
    const fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
    try {
      fs.writeFileSync(fd, data);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // The write's own error says more than this one.
    }
    throw err;
  }
}

/**
 * Writes files whole as replaceFile does, without blocking: every `<file>.tmp` first, then the renames in order (a
 * sidecar before its image, so the image is never in place without it). On any failure every tmp file goes.
 */
export async function replaceFiles(files: { file: string; data: string | Buffer }[]): Promise<void> {
  const tmps = files.map(({ file }) => `${file}.tmp`);
  try {
    for (const [i, { data }] of files.entries()) {
      await fs.promises.rm(tmps[i], { force: true });
      const fh = await fs.promises.open(tmps[i], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
      try {
        await fh.writeFile(data);
      } finally {
        await fh.close();
      }
    }
    for (const [i, { file }] of files.entries()) await fs.promises.rename(tmps[i], file);
  } catch (err) {
    // The write's own error says more than a failed removal.
    for (const tmp of tmps) await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/**
 * Appends `text` to `file` (created if missing). When the write fails part way (a full disk), the file is cut back
 * to where it was, so the retried append starts on a line of its own instead of gluing onto half a line.
 */
export async function appendToFile(file: string, text: string): Promise<void> {
  const fh = await fs.promises.open(file, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK, 0o644);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw inTheWay('ENXIO', file, 'not a regular file');
    try {
      await fh.appendFile(text);
    } catch (err) {
      await fh.truncate(st.size).catch(() => undefined);
      throw err;
    }
  } finally {
    await fh.close();
  }
}

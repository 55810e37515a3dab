// Which reference images an items file may name: http(s) URLs, and local files that resolve (after symlinks) inside
// the items file's folder or the --refs-dir folder. An items file from someone else must not make a worker upload
// ~/.ssh/id_rsa.png or a symlink out of its folder. Allowed files become their resolved absolute paths.
import fs from 'node:fs';
import path from 'node:path';
import { REFERENCE_OPEN_FLAGS, referenceFault } from '../output/reference-file';
import { UsageError } from '../shared/usage-error';
import { stripControls } from './errors';

export interface RefRoots {
  /** The items file's folder as written, for resolving relative paths. */
  itemsDir: string;
  /** Resolved folders a reference must be inside. */
  allowed: string[];
}

const realFolder = (dir: string): string | undefined => {
  try {
    const real = fs.realpathSync(dir);
    return fs.statSync(real).isDirectory() ? real : undefined;
  } catch {
    return undefined;
  }
};

/** Throws UsageError (exit 2) for a --refs-dir that is not a folder. */
export function referenceRoots(itemsFile: string, refsDir?: string): RefRoots {
  const itemsDir = path.dirname(path.resolve(itemsFile));
  const allowed = [realFolder(itemsDir) ?? itemsDir];
  if (refsDir !== undefined) {
    const real = realFolder(refsDir);
    if (!real) throw new UsageError(`--refs-dir '${stripControls(refsDir)}': not a folder`);
    allowed.push(real);
  }
  return { itemsDir, allowed };
}

const inside = (file: string, dir: string) => file.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);

/** The first bytes of a file, read without following a link or blocking on a FIFO. */
function headOf(file: string): { st: fs.Stats; head: Buffer } {
  const fd = fs.openSync(file, REFERENCE_OPEN_FLAGS);
  try {
    const st = fs.fstatSync(fd);
    const head = Buffer.alloc(16);
    // Only a regular file is read at all.
    const n = st.isFile() ? fs.readSync(fd, head, 0, head.length, 0) : 0;
    return { st, head: head.subarray(0, n) };
  } finally {
    fs.closeSync(fd);
  }
}

/** The reference as the worker will read it (a URL, or a resolved path), or what is wrong with it. */
export function checkReference(ref: string, roots: RefRoots): { ref: string } | { problem: string } {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref)) {
    return /^https?:\/\//i.test(ref) ? { ref } : { problem: 'only http(s) URLs or local files' };
  }
  const given = path.resolve(roots.itemsDir, ref);
  let real: string;
  try {
    real = fs.realpathSync(given);
  } catch (err) {
    return { problem: `cannot read '${ref}': ${(err as NodeJS.ErrnoException).code ?? 'no such file'}` };
  }
  if (!roots.allowed.some((dir) => inside(real, dir))) {
    const via = real === given ? '' : ` (it resolves to '${real}')`;
    const where = roots.allowed.map((d) => `'${d}'`).join(' or ');
    return {
      problem: `'${ref}'${via} is outside ${where}: reference images must be inside the items file's folder or --refs-dir DIR`,
    };
  }
  let fault: string | undefined;
  try {
    const { st, head } = headOf(real);
    fault = referenceFault(st, head);
  } catch (err) {
    fault = `cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  return fault ? { problem: `'${ref}' ${fault}` } : { ref: real };
}

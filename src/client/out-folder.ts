// `run --out`: the batch folder must be one this process (its worker) can create and write, found out before
// anything starts rather than by an item that fails after the provider was paid.
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from './exit-codes';

const REASONS: Record<string, string> = {
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOSPC: 'no space left',
};

/** Throws a UsageError with the reason when `batchDir` cannot be created or written; creates nothing. */
export function checkBatchFolder(batchDir: string): void {
  const fail = (why: string) => new UsageError(`--out: cannot create or write the batch folder ${batchDir}: ${why}`);
  // The deepest part of the path that exists must be a folder: a file there is in the way.
  let existing = batchDir;
  for (;;) {
    const st = statOrUndefined(existing, fail);
    if (st?.isDirectory()) break;
    if (st) throw fail(`${existing} is not a folder`);
    const parent = path.dirname(existing);
    if (parent === existing) throw fail('no part of the path exists');
    existing = parent;
  }
  // A probe folder made and removed: the only test a read-only filesystem or a root user answers truly.
  try {
    fs.rmdirSync(fs.mkdtempSync(path.join(existing, '.imagebatch-probe-')));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw fail(`${existing} cannot be written (${REASONS[e.code ?? ''] ?? e.code ?? e.message})`);
  }
}

function statOrUndefined(p: string, fail: (why: string) => Error): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOTDIR: a file stands higher up the path; the walk up reaches it.
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw fail(`${p} cannot be read (${REASONS[code ?? ''] ?? code})`);
  }
}

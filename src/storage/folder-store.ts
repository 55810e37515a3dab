// A batch's files in a local folder, written as safe-write.ts writes: whole files through a fresh tmp file and a
// rename (a link at the final path is replaced, never written through), appends that open no link or FIFO, and
// `.imagebatch/` refused when a link stands for it.
import fs from 'node:fs';
import path from 'node:path';
import { appendToFile, makeFolder, ownFolder, replaceFile, replaceFiles } from './safe-write';
import { type BatchStore, isUnder, type StoredFile } from './batch-store';

/** A file that is not there (or whose folder is not). */
const ABSENT = new Set(['ENOENT', 'ENOTDIR']);

export class FolderStore implements BatchStore {
  readonly kind = 'folder';

  constructor(readonly location: string) {}

  where(name: string): string {
    return path.join(this.location, ...name.split('/'));
  }

  /** The batch folder is made as needed; a folder below it (`.imagebatch/`) must not be a link. */
  private folderOf(name: string): void {
    makeFolder(this.location);
    let dir = this.location;
    for (const part of name.split('/').slice(0, -1)) ownFolder((dir = path.join(dir, part)));
  }

  async read(name: string): Promise<Buffer | undefined> {
    try {
      return await fs.promises.readFile(this.where(name));
    } catch (err) {
      if (ABSENT.has((err as NodeJS.ErrnoException).code ?? '')) return undefined;
      throw err;
    }
  }

  async write(files: StoredFile[]): Promise<void> {
    for (const f of files) this.folderOf(f.name);
    await replaceFiles(files.map((f) => ({ file: this.where(f.name), data: f.data })));
  }

  /** As write, synchronously: for the few writes made before anything else runs (the items copy, a report). */
  writeNow(files: StoredFile[]): void {
    for (const f of files) {
      this.folderOf(f.name);
      replaceFile(this.where(f.name), f.data);
    }
  }

  /** One log file appended to: `part` names a bucket's object and means nothing here. */
  async appendLines(name: string, lines: string[], _part: string): Promise<void> {
    if (!lines.length) return;
    this.folderOf(name);
    await appendToFile(this.where(name), lines.join('\n') + '\n');
  }

  async readLines(name: string): Promise<string[]> {
    const data = await this.read(name);
    return data
      ? data
          .toString('utf8')
          .split('\n')
          .filter((l) => l.trim())
      : [];
  }

  async list(folder = ''): Promise<string[]> {
    const entries = await fs.promises.readdir(this.location, { recursive: true, withFileTypes: true }).catch((err) => {
      if (ABSENT.has((err as NodeJS.ErrnoException).code ?? '')) return [];
      throw err;
    });
    return entries
      .filter((e) => e.isFile() && !e.name.endsWith('.tmp'))
      .map((e) => path.relative(this.location, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
      .filter((name) => isUnder(name, folder))
      .sort();
  }

  /** A name that cannot be looked at counts as absent: the write that follows says why. */
  async present(names: string[]): Promise<string[]> {
    const found = await Promise.all(
      names.map((n) =>
        fs.promises.stat(this.where(n)).then(
          (s) => s.isFile(),
          () => false,
        ),
      ),
    );
    return names.filter((_, i) => found[i]);
  }

  /** `prefix` is a file or a folder (`.imagebatch/tasks/`) of the batch. */
  async remove(prefix: string): Promise<void> {
    await fs.promises.rm(this.where(prefix), { recursive: true, force: true });
  }
}

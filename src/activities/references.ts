// Reference images (character keeping): local files are read and sent as base64, URLs are passed through.
// Only paths and URLs travel in workflow history; the bytes are read here, in the activity. The items reader
// allowed each path (inside the items folder or --refs-dir, after symlinks), but the file may have changed since:
// it is opened without following a link and without blocking, checked with fstat before any read, read with a
// bound and a timeout, and sent only if its first bytes are an image's.
import fs from 'node:fs';
import type { ReferenceImage } from '../providers/types';
import { sniffImage } from '../output/image-file';
import { REFERENCE_OPEN_FLAGS, referenceFault } from '../output/reference-file';

export const REFERENCE_READ_TIMEOUT_MS = 20_000;

/** Reads at most one byte more than fstat said: a file that grew since is refused, not read without end. */
async function readBounded(fh: fs.promises.FileHandle, size: number): Promise<Buffer> {
  const buf = Buffer.alloc(size + 1);
  let total = 0;
  for (;;) {
    const { bytesRead } = await fh.read(buf, total, buf.length - total, total);
    if (!bytesRead) break;
    total += bytesRead;
    if (total === buf.length) throw new Error('grew while it was read');
  }
  return buf.subarray(0, total);
}

/** Rejects after `ms`: a read of a file on a hung disk must not hold the activity. */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`took over ${ms} ms to read`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** The file's bytes and type, or an error naming the file and what is wrong with it. */
export async function readReferenceFile(
  file: string,
  timeoutMs = REFERENCE_READ_TIMEOUT_MS,
): Promise<{ data: Buffer; mime: string }> {
  const fail = (why: string) => new Error(`reference image ${file} ${why}`);
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, REFERENCE_OPEN_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw fail(code === 'ELOOP' ? 'is a symbolic link' : `cannot be opened: ${code ?? (err as Error).message}`);
  }
  try {
    const st = await fh.stat();
    const before = referenceFault(st);
    if (before) throw fail(before);
    const data = await withTimeout(readBounded(fh, st.size), timeoutMs).catch((err: Error) => {
      throw fail(err.message);
    });
    const kind = sniffImage(data.subarray(0, 16));
    if (!kind) throw fail('is not a PNG, JPEG or WebP image');
    return { data, mime: kind.mime };
  } finally {
    // Not awaited: a read stuck past its timeout keeps the handle, and closing it waits for that read.
    void fh.close().catch(() => undefined);
  }
}

export async function loadReferenceImages(refs: string[] = []): Promise<ReferenceImage[]> {
  return Promise.all(
    refs.map(async (ref) => {
      if (/^https?:\/\//i.test(ref)) return { url: ref };
      const { data, mime } = await readReferenceFile(ref);
      return { base64: data.toString('base64'), mime };
    }),
  );
}

// Image files on disk: found when they already exist, written atomically (tmp + rename) with size, magic-byte
// and completeness checks and a sha256, never half-written at the final path.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { type EmbeddedMetadata, sidecarPath, sidecarText } from '../output/image-metadata';
import { PngError } from '../output/png-chunks';
import { embedPngMetadata } from '../output/png-metadata';
import type { OutputTarget, StoredImage } from '../shared/types';

export const DEFAULT_MAX_IMAGE_BYTES = 30 * 1024 * 1024;
const EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp'];

export class ImageRejected extends Error {
  name = 'ImageRejected';
}

/** The image type from its first bytes, or undefined when it is not an image we accept. */
export function sniffImage(head: Buffer): { mime: string; ext: string } | undefined {
  if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    return { mime: 'image/png', ext: 'png' };
  }
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff)
    return { mime: 'image/jpeg', ext: 'jpg' };
  if (head.length >= 12 && head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP') {
    return { mime: 'image/webp', ext: 'webp' };
  }
  return undefined;
}

/** A PNG must end with its IEND chunk and a JPEG with EOI: a cut-off download fails here. */
function isComplete(mime: string, tail: Buffer): boolean {
  if (mime === 'image/png')
    return tail.subarray(-8).equals(Buffer.from([0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]));
  if (mime === 'image/jpeg')
    return tail.length >= 2 && tail[tail.length - 2] === 0xff && tail[tail.length - 1] === 0xd9;
  return true;
}

function safeName(name: string): string {
  if (!name || name !== path.basename(name) || name === '.' || name === '..')
    throw new ImageRejected(`unsafe file name '${name}'`);
  return name;
}

const IMAGE_EXT = /\.(png|jpe?g|webp)$/i;
const sameType = (a: string, b: string) => a.toLowerCase().replace('jpeg', 'jpg') === b.replace('jpeg', 'jpg');

/**
 * The name an image is stored under: the item's filename, or `<id>.<ext>`. Its extension follows the bytes, so a
 * JPEG asked for as `cat.png` is stored as `cat.jpg` (a viewer trusts the extension).
 */
function storedName(t: OutputTarget, ext: string): string {
  if (!t.filename) return `${safeName(t.itemId)}.${ext}`;
  const name = safeName(t.filename);
  const given = IMAGE_EXT.exec(name)?.[1];
  return given && sameType(given, ext) ? name : `${name.replace(IMAGE_EXT, '')}.${ext}`;
}

/** Where an existing output may be: the item's filename first, then its stem with each image extension. */
function candidates(t: OutputTarget): string[] {
  const names = EXTENSIONS.map((ext) => storedName(t, ext));
  if (t.filename) names.unshift(safeName(t.filename));
  return [...new Set(names)].map((name) => path.join(t.outDir, name));
}

export async function describeFile(file: string): Promise<StoredImage | undefined> {
  let data: Buffer;
  try {
    data = await fs.promises.readFile(file);
  } catch {
    return undefined;
  }
  const kind = sniffImage(data.subarray(0, 16));
  if (!kind || !isComplete(kind.mime, data.subarray(-16))) return undefined;
  return { file, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex'), mime: kind.mime };
}

/** An output that already exists (and is a whole image): the seeds' idempotency. */
export async function findExistingImage(t: OutputTarget): Promise<StoredImage | undefined> {
  for (const file of candidates(t)) {
    const found = await describeFile(file);
    if (found) return found;
  }
  return undefined;
}

/**
 * Writes bytes to the item's final path atomically after checking them. With `meta`, the image carries how it was
 * made: a PNG gets its text chunks (the bytes written and hashed are those final bytes); a JPEG or WebP gets a
 * sidecar `<file>.json`, renamed into place before the image, so a stored image always has its metadata.
 */
export async function storeImage(
  t: OutputTarget,
  data: Buffer,
  maxBytes = DEFAULT_MAX_IMAGE_BYTES,
  meta?: EmbeddedMetadata,
): Promise<StoredImage> {
  if (data.length > maxBytes) throw new ImageRejected(`image is ${data.length} bytes, over the ${maxBytes}-byte limit`);
  const kind = sniffImage(data.subarray(0, 16));
  if (!kind)
    throw new ImageRejected(
      `not a PNG, JPEG or WebP image (starts with ${JSON.stringify(data.subarray(0, 8).toString('latin1'))})`,
    );
  if (!isComplete(kind.mime, data.subarray(-16)))
    throw new ImageRejected(`truncated ${kind.mime} (${data.length} bytes)`);
  const final = meta && kind.mime === 'image/png' ? withChunks(data, meta) : data;
  const file = path.join(t.outDir, storedName(t, kind.ext));
  await fs.promises.mkdir(t.outDir, { recursive: true });
  const sidecar = meta && kind.mime !== 'image/png' ? { file: sidecarPath(file), text: sidecarText(meta) } : undefined;
  // One tmp name per item: a retry after a crash replaces the same tmp file rather than leaving another. It is
  // removed and created afresh ('wx': O_EXCL), so a symlink put there is never followed.
  const tmp = `${file}.tmp`;
  try {
    await fs.promises.rm(tmp, { force: true });
    await fs.promises.writeFile(tmp, final, { flag: 'wx' });
    if (sidecar) await writeWhole(sidecar.file, sidecar.text);
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  return { file, bytes: final.length, sha256: createHash('sha256').update(final).digest('hex'), mime: kind.mime };
}

function withChunks(png: Buffer, meta: EmbeddedMetadata): Buffer {
  try {
    return embedPngMetadata(png, meta);
  } catch (err) {
    // Ends with IEND yet its chunks do not add up: a corrupt download, treated as any other bad image.
    if (err instanceof PngError) throw new ImageRejected(err.message);
    throw err;
  }
}

/** A small file written as the image is: a fresh tmp file, then a rename. */
async function writeWhole(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp`;
  try {
    await fs.promises.rm(tmp, { force: true });
    await fs.promises.writeFile(tmp, text, { flag: 'wx' });
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
}

/** Downloads an image into memory, bounded by maxBytes, following at most 3 http(s) redirects. */
export async function downloadImage(
  url: string,
  maxBytes = DEFAULT_MAX_IMAGE_BYTES,
  signal?: AbortSignal,
  timeoutMs = 60_000,
): Promise<Buffer> {
  let current = url;
  for (let hop = 0; hop <= 3; hop++) {
    const u = new URL(current);
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new ImageRejected(`image URL is not http(s): ${u.protocol}`);
    const res = await request(current, { method: 'GET', signal, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    if (res.statusCode >= 300 && res.statusCode < 400 && res.headers.location) {
      await res.body.dump();
      current = new URL(String(res.headers.location), current).toString();
      continue;
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new ImageRejected(`image download answered HTTP ${res.statusCode}`);
    }
    const declared = Number(res.headers['content-length'] ?? 0);
    if (declared > maxBytes) {
      res.body.destroy();
      throw new ImageRejected(`image is ${declared} bytes, over the ${maxBytes}-byte limit`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        res.body.destroy();
        throw new ImageRejected(`image is over the ${maxBytes}-byte limit`);
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }
  throw new ImageRejected('too many redirects');
}

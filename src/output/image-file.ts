// An item's image file in its batch folder, in one place: its name (the item's filename, or `<id>.<ext>`, the
// extension following the bytes), the checks its bytes pass (size, magic bytes, a whole PNG or JPEG), its write (tmp,
// no link followed, atomic rename; the sidecar of a JPEG or WebP first) with its sha256, and finding one already
// stored. Only this module builds an image's path; the files are read and written by `readWhole` and `writeWhole`
// alone, so a batch folder kept elsewhere (a bucket) plugs in there.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { IMAGE_EXT } from '../shared/item-schema';
import type { OutputTarget, StoredImage } from '../shared/types';
import { type EmbeddedMetadata, sidecarText } from './image-metadata';
import { imageSize, type ImageSize, SIZE_HEAD_BYTES } from './image-size';
import { PNG_SIGNATURE, PngError } from './png-chunks';
import { embedPngMetadata } from './png-metadata';
import { replaceFiles } from './safe-write';

export const DEFAULT_MAX_IMAGE_BYTES = 30 * 1024 * 1024;
const EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp'];

/** Bytes that are not an image imagebatch keeps (or a name it will not write): the provider's image is bad. */
export class ImageRejected extends Error {
  name = 'ImageRejected';
}

/** The image type from its first bytes, or undefined when it is not an image we accept. */
export function sniffImage(head: Buffer): { mime: string; ext: string } | undefined {
  if (head.length >= 8 && head.subarray(0, 8).equals(PNG_SIGNATURE)) {
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

/** The type of bytes to store, or why they are not stored. */
function checkImage(data: Buffer, maxBytes: number): { mime: string; ext: string } {
  if (data.length > maxBytes) throw new ImageRejected(`image is ${data.length} bytes, over the ${maxBytes}-byte limit`);
  const kind = sniffImage(data.subarray(0, 16));
  if (!kind)
    throw new ImageRejected(
      `not a PNG, JPEG or WebP image (starts with ${JSON.stringify(data.subarray(0, 8).toString('latin1'))})`,
    );
  if (!isComplete(kind.mime, data.subarray(-16)))
    throw new ImageRejected(`truncated ${kind.mime} (${data.length} bytes)`);
  return kind;
}

function safeName(name: string): string {
  if (!name || name !== path.basename(name) || name === '.' || name === '..')
    throw new ImageRejected(`unsafe file name '${name}'`);
  return name;
}

const sameType = (a: string, b: string) => a.toLowerCase().replace('jpeg', 'jpg') === b.replace('jpeg', 'jpg');

/**
 * An item's image name without its extension, which follows the bytes: two items with one stem (as a disk that
 * ignores case sees it) would write one file.
 */
export function imageStem(t: Pick<OutputTarget, 'itemId' | 'filename'>): string {
  return t.filename ? t.filename.replace(IMAGE_EXT, '') : t.itemId;
}

/**
 * The name an image is stored under: the item's filename, or `<id>.<ext>`. Its extension follows the bytes, so a
 * JPEG asked for as `cat.png` is stored as `cat.jpg` (a viewer trusts the extension).
 */
function storedName(t: OutputTarget, ext: string): string {
  if (!t.filename) return `${safeName(t.itemId)}.${ext}`;
  const name = safeName(t.filename);
  const given = IMAGE_EXT.exec(name)?.[1];
  return given && sameType(given, ext) ? name : `${imageStem(t)}.${ext}`;
}

/** Where an existing output may be: the item's filename first, then its stem with each image extension. */
function candidates(t: OutputTarget): string[] {
  const names = EXTENSIONS.map((ext) => storedName(t, ext));
  if (t.filename) names.unshift(safeName(t.filename));
  return [...new Set(names)].map((name) => path.join(t.outDir, name));
}

/** A stored image's name as the manifest gives it: relative to the batch folder, so the folder can move. */
export const imageEntryName = (batchDir: string, file: string): string => path.relative(batchDir, file);

/** The stored image a manifest entry names. */
export const imageOfEntry = (batchDir: string, name: string): string => path.join(batchDir, name);

/** The sidecar of a JPEG or WebP, which carries no PNG chunks: `<file>.json`, beside it. */
export function sidecarPath(imageFile: string): string {
  return `${imageFile}.json`;
}

/** The size of a stored image, from its header (the manifest says it beside the size the request asked for). */
export function storedImageSize(file: string): ImageSize | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    const head = Buffer.alloc(SIZE_HEAD_BYTES);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    const kind = sniffImage(head.subarray(0, 16));
    return kind && imageSize(kind.mime, head.subarray(0, n));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** The file's bytes, or undefined when there is none to read. */
async function readWhole(file: string): Promise<Buffer | undefined> {
  try {
    return await fs.promises.readFile(file);
  } catch {
    return undefined;
  }
}

/** Writes the files whole, all or none (an image with its sidecar), renamed into place in order: the sidecar first. */
async function writeWhole(dir: string, files: { file: string; data: Buffer | string }[]): Promise<void> {
  await fs.promises.mkdir(dir, { recursive: true });
  await replaceFiles(files);
}

const described = (file: string, data: Buffer, mime: string): StoredImage => ({
  file,
  bytes: data.length,
  sha256: createHash('sha256').update(data).digest('hex'),
  mime,
});

/** An output that already exists (and is a whole image): the seeds' idempotency. */
export async function findExistingImage(t: OutputTarget): Promise<StoredImage | undefined> {
  for (const file of candidates(t)) {
    const data = await readWhole(file);
    const kind = data && sniffImage(data.subarray(0, 16));
    if (data && kind && isComplete(kind.mime, data.subarray(-16))) return described(file, data, kind.mime);
  }
  return undefined;
}

/**
 * Writes bytes to the item's final path atomically after checking them. With `meta`, the image carries how it was
 * made: a PNG gets its text chunks (the bytes written and hashed are those final bytes); a JPEG or WebP gets a
 * sidecar `<file>.json`, renamed into place before the image.
 */
export async function storeImage(
  t: OutputTarget,
  data: Buffer,
  maxBytes = DEFAULT_MAX_IMAGE_BYTES,
  meta?: EmbeddedMetadata,
): Promise<StoredImage> {
  const kind = checkImage(data, maxBytes);
  // The size it says is the image's own, not the request's (absent when its header does not say one).
  const size = imageSize(kind.mime, data.subarray(0, SIZE_HEAD_BYTES));
  const told = meta && { ...meta, width: size?.width, height: size?.height };
  const final = told && kind.mime === 'image/png' ? withChunks(data, told) : data;
  const file = path.join(t.outDir, storedName(t, kind.ext));
  const sidecar = told && kind.mime !== 'image/png' ? [{ file: sidecarPath(file), data: sidecarText(told) }] : [];
  await writeWhole(t.outDir, [...sidecar, { file, data: final }]);
  return described(file, final, kind.mime);
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

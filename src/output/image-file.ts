// An item's image file among its batch's files, in one place: its name (the item's filename, or `<id>.<ext>`, the
// extension following the bytes), the checks its bytes pass (size, magic bytes, a whole PNG or JPEG), its write (whole,
// the sidecar of a JPEG or WebP first) with its sha256 and size, and finding one already stored. Only this module
// builds an image's name; the files are read and written through the batch's store (a folder or a bucket) by
// `readWhole` and `writeWhole` alone.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { isBucketLocation } from '../storage/batch-store';
import { openStore } from '../storage/open-store';
import { IMAGE_EXT } from '../shared/item-schema';
import type { OutputTarget, StoredImage } from '../shared/types';
import { type EmbeddedMetadata, sidecarText } from './image-metadata';
import { imageSize, SIZE_HEAD_BYTES } from './image-size';
import { PNG_SIGNATURE, PngError } from './png-chunks';
import { embedPngMetadata } from './png-metadata';

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

/** The names an existing output may have: the item's filename first, then its stem with each image extension. */
function candidates(t: OutputTarget): string[] {
  const names = EXTENSIONS.map((ext) => storedName(t, ext));
  if (t.filename) names.unshift(safeName(t.filename));
  return [...new Set(names)];
}

/** A stored image's name as the manifest gives it: relative to the batch, so the folder can move. */
export function imageEntryName(batchDir: string, file: string): string {
  if (isBucketLocation(batchDir) && file.startsWith(`${batchDir}/`)) return file.slice(batchDir.length + 1);
  return path.relative(batchDir, file);
}

/** The stored image a manifest entry names: its path, or its URL in a bucket. */
export function imageOfEntry(batchDir: string, name: string): string {
  return isBucketLocation(batchDir) ? `${batchDir}/${name.split(path.sep).join('/')}` : path.join(batchDir, name);
}

/** The sidecar of a JPEG or WebP, which carries no PNG chunks: `<file>.json`, beside it. */
export function sidecarPath(imageFile: string): string {
  return `${imageFile}.json`;
}

/**
 * The file's bytes, or undefined when there is none to read. A folder's unreadable file counts as none (the write
 * that follows says why); a bucket that cannot be asked throws, rather than have the provider paid for an image that
 * may be there.
 */
async function readWhole(location: string, name: string): Promise<Buffer | undefined> {
  const store = openStore(location);
  try {
    return await store.read(name);
  } catch (err) {
    if (store.kind === 'bucket') throw err;
    return undefined;
  }
}

/** Writes the files whole, all or none (an image with its sidecar), in order: the sidecar first. Returns the last's place. */
async function writeWhole(location: string, files: { name: string; data: Buffer | string }[]): Promise<string> {
  const store = openStore(location);
  await store.write(files);
  return store.where(files[files.length - 1].name);
}

/** The image's size travels with it to the manifest (which never reads the image again), when its header says one. */
function described(file: string, data: Buffer, mime: string): StoredImage {
  const size = imageSize(mime, data.subarray(0, SIZE_HEAD_BYTES));
  return {
    file,
    bytes: data.length,
    sha256: createHash('sha256').update(data).digest('hex'),
    mime,
    ...(size ? { imageSize: size } : {}),
  };
}

/** An output that already exists (and is a whole image): the seeds' idempotency. */
export async function findExistingImage(t: OutputTarget): Promise<StoredImage | undefined> {
  // Asked once for every name the image may have (a bucket: one list, not a GET per extension), then read.
  for (const name of await openStore(t.outDir).present(candidates(t))) {
    const data = await readWhole(t.outDir, name);
    const kind = data && sniffImage(data.subarray(0, 16));
    if (data && kind && isComplete(kind.mime, data.subarray(-16)))
      return described(openStore(t.outDir).where(name), data, kind.mime);
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
  const name = storedName(t, kind.ext);
  const sidecar = told && kind.mime !== 'image/png' ? [{ name: sidecarPath(name), data: sidecarText(told) }] : [];
  const file = await writeWhole(t.outDir, [...sidecar, { name, data: final }]);
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

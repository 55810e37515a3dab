// `imagebatch inspect FILE`: how an image was made, as the file itself says: a PNG's `parameters` and `imagebatch`
// chunks, or the sidecar `<file>.json` of a JPEG or WebP.
import fs from 'node:fs';
import { sidecarPath, sniffImage } from '../../output/image-file';
import { type EmbeddedMetadata, IMAGEBATCH_KEY, parametersText } from '../../output/image-metadata';
import {
  decodeText,
  encodeChunk,
  isTextChunk,
  keywordOf,
  PNG_SIGNATURE,
  PngError,
  readChunks,
} from '../../output/png-chunks';
import { readPngMetadata } from '../../output/png-metadata';
import { isBucketLocation } from '../../storage/batch-store';
import { EXIT, UsageError } from '../exit-codes';
import { stripControls } from '../../items/errors';

export interface InspectFlags {
  json?: boolean;
}

export interface Inspection {
  file: string;
  mime: string;
  /** Where the metadata was found: `chunks` (the PNG's own), or the sidecar's path. */
  source: string;
  parameters: string | null;
  imagebatch: unknown;
}

/**
 * What inspect reads at most. Metadata is a few KB: a text chunk or a sidecar over these is refused (exit 2) rather
 * than read, and nothing of a PNG past its first IDAT is read at all (its text chunks come before it).
 */
export const INSPECT_LIMITS = {
  textChunkBytes: 1024 * 1024,
  sidecarBytes: 4 * 1024 * 1024,
  /** Chunks before the first IDAT (skipped ones included): a file of millions of empty chunks ends here. */
  chunks: 10_000,
  /** JSON nested deeper than this is not metadata imagebatch wrote, and would overflow the stack to print. */
  depth: 200,
};

const mb = (n: number) => `${Math.round(n / 1024 / 1024)} MB`;

/** A regular file opened for reading, or UsageError (exit 2) saying why not. */
function openOrExplain(file: string, what: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    throw new UsageError(`${what} '${file}' cannot be read: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  const st = fs.fstatSync(fd);
  // A FIFO or a device would block or never end: only regular files are read.
  if (!st.isFile()) {
    fs.closeSync(fd);
    throw new UsageError(`${what} '${file}' is not a regular file`);
  }
  return { fd, size: st.size };
}

function readAt(fd: number, at: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const n = fs.readSync(fd, buf, 0, length, at);
  return buf.subarray(0, n);
}

/**
 * The PNG's chunks before its first IDAT, as a small PNG of their own (IHDR, the text chunks, IEND): other chunks are
 * skipped unread, a text chunk over the limit is refused.
 */
function pngHead(file: string, fd: number, size: number): Buffer {
  const kept: Buffer[] = [PNG_SIGNATURE];
  let at = PNG_SIGNATURE.length;
  for (let n = 0; ; n++) {
    if (n >= INSPECT_LIMITS.chunks)
      throw new UsageError(`'${file}': over ${INSPECT_LIMITS.chunks} chunks before the image data`);
    const head = readAt(fd, at, 8);
    if (head.length < 8)
      throw new UsageError(`'${file}': truncated PNG: no image data (chunk at byte ${at} is cut off)`);
    const length = head.readUInt32BE(0);
    const type = head.toString('latin1', 4, 8);
    if (type === 'IDAT' || type === 'IEND') break;
    if (at + 12 + length > size)
      throw new UsageError(`'${file}': truncated PNG: ${type} chunk at byte ${at} claims ${length} bytes`);
    if (n === 0 || isTextChunk(type)) {
      if (length > INSPECT_LIMITS.textChunkBytes)
        throw new UsageError(
          `'${file}': ${type} chunk at byte ${at} is ${length} bytes, over the ${mb(INSPECT_LIMITS.textChunkBytes)} ` +
            'inspect reads of a chunk (metadata is a few KB): not metadata imagebatch wrote',
        );
      kept.push(readAt(fd, at, 12 + length));
    }
    at += 12 + length;
  }
  kept.push(encodeChunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(kept);
}

/** How deep `text`'s JSON nests, counted without parsing it (a parser or printer may recurse). */
function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) max = Math.max(max, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

function checkDepth(text: string, where: string): void {
  if (jsonDepth(text) > INSPECT_LIMITS.depth)
    throw new UsageError(`${where}: JSON nested over ${INSPECT_LIMITS.depth} deep: not metadata imagebatch wrote`);
}

function fromSidecar(file: string, mime: string): Inspection {
  const sidecar = sidecarPath(file);
  if (!fs.existsSync(sidecar)) return { file, mime, source: sidecar, parameters: null, imagebatch: null };
  const { fd, size } = openOrExplain(sidecar, 'sidecar');
  let text: string;
  try {
    if (size > INSPECT_LIMITS.sidecarBytes)
      throw new UsageError(
        `sidecar '${sidecar}' is ${size} bytes, over the ${mb(INSPECT_LIMITS.sidecarBytes)} inspect reads ` +
          '(metadata is a few KB): not a sidecar imagebatch wrote',
      );
    text = readAt(fd, 0, size).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
  checkDepth(text, `sidecar '${sidecar}'`);
  let meta: unknown;
  try {
    meta = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`sidecar '${sidecar}' is not JSON: ${(err as Error).message}`);
  }
  // The sidecar holds the JSON only; its parameters text is derived the way a PNG's chunk is written.
  const prompt = (meta as EmbeddedMetadata | null)?.prompt;
  const parameters = typeof prompt === 'string' ? parametersText(meta as EmbeddedMetadata) : null;
  return { file, mime, source: sidecar, parameters, imagebatch: meta };
}

/** What the file says about how it was made; UsageError (exit 2) when it is missing or not a sound image. */
export function inspectFile(file: string): Inspection {
  const { fd, size } = openOrExplain(file, 'file');
  let head: Buffer;
  let kind: ReturnType<typeof sniffImage>;
  try {
    kind = sniffImage(readAt(fd, 0, 16));
    if (!kind) throw new UsageError(`'${file}' is not a PNG, JPEG or WebP image`);
    if (kind.mime !== 'image/png') return fromSidecar(file, kind.mime);
    head = pngHead(file, fd, size);
  } finally {
    fs.closeSync(fd);
  }
  try {
    // Its depth is checked before anything parses it.
    const ours = readChunks(head).find((c) => keywordOf(c) === IMAGEBATCH_KEY);
    if (ours) checkDepth(decodeText(ours).text, `'${file}': its imagebatch chunk`);
    const found = readPngMetadata(head);
    return {
      file,
      mime: kind.mime,
      source: 'chunks',
      parameters: found.parameters ?? null,
      imagebatch: found.imagebatch ?? null,
    };
  } catch (err) {
    if (err instanceof PngError) throw new UsageError(`'${file}': ${err.message}`);
    throw err;
  }
}

export function inspectCommand(file: string, flags: InspectFlags): Promise<number> {
  // It reads the file's bytes where they are; a bucket's image is copied here first (and `pull` checks its sha256).
  if (isBucketLocation(file))
    throw new UsageError(
      `'${file}' is in a bucket: inspect reads a local file; \`imagebatch pull BATCH --out DIR\` copies the batch here first`,
    );
  const found = inspectFile(file);
  const none = found.parameters === null && found.imagebatch === null;
  if (flags.json) {
    console.log(JSON.stringify(found, null, 2));
  } else if (none) {
    const where = found.source === 'chunks' ? 'no parameters or imagebatch chunk' : `no sidecar ${found.source}`;
    console.log(`${stripControls(file)}: no metadata (${where})`);
  } else {
    // Someone else's file may hold terminal escapes in its text: shown without them.
    const from = found.source === 'chunks' ? '' : ` (from ${found.source})`;
    if (found.parameters !== null) console.log(`parameters${from}:\n${stripControls(found.parameters)}\n`);
    if (found.imagebatch !== null)
      console.log(`imagebatch${from}:\n${stripControls(JSON.stringify(found.imagebatch, null, 2))}`);
  }
  return Promise.resolve(none ? EXIT.someFailed : EXIT.ok);
}

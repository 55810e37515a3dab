// PNG chunks: walking a file's chunk list, building chunks with their CRC, and the three text chunk kinds (tEXt
// Latin-1, zTXt compressed Latin-1, iTXt UTF-8). Pure functions over bytes; nothing here touches the disk.
import zlib from 'node:zlib';

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** A compressed text chunk (iTXt or zTXt) inflates to at most this: a hostile file cannot exhaust memory. */
const MAX_INFLATED_BYTES = 16 * 1024 * 1024;
const TEXT_TYPES = ['tEXt', 'zTXt', 'iTXt'];

export class PngError extends Error {
  name = 'PngError';
}

export interface Chunk {
  type: string;
  data: Buffer;
  /** The whole chunk as it stands in the file (length, type, data, CRC), kept so untouched chunks stay byte-equal. */
  raw: Buffer;
  crcOk: boolean;
}

export interface TextChunk {
  type: 'tEXt' | 'zTXt' | 'iTXt';
  keyword: string;
  text: string;
}

/** The CRC-32 the PNG spec puts after each chunk: of the type and the data. */
export function chunkCrc(type: string, data: Buffer): number {
  return zlib.crc32(data, zlib.crc32(Buffer.from(type, 'latin1')));
}

export function isPng(bytes: Buffer): boolean {
  return bytes.length >= 8 && bytes.subarray(0, 8).equals(PNG_SIGNATURE);
}

/** Every chunk up to and including IEND; anything after IEND is not part of the image and is dropped. */
export function readChunks(png: Buffer): Chunk[] {
  if (!isPng(png)) throw new PngError('not a PNG (no PNG signature)');
  const chunks: Chunk[] = [];
  let at = 8;
  for (;;) {
    if (at + 12 > png.length) throw new PngError(`truncated PNG: no IEND chunk (chunk at byte ${at} is cut off)`);
    const length = png.readUInt32BE(at);
    const end = at + 12 + length;
    if (length > 0x7fffffff || end > png.length)
      throw new PngError(`truncated PNG: chunk at byte ${at} claims ${length} bytes`);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    const crcOk = png.readUInt32BE(at + 8 + length) === chunkCrc(type, data);
    chunks.push({ type, data, raw: png.subarray(at, end), crcOk });
    at = end;
    if (type === 'IEND') return chunks;
  }
}

export function encodeChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(chunkCrc(type, data), 0);
  return Buffer.concat([head, data, crc]);
}

export function isTextChunk(type: string): type is TextChunk['type'] {
  return TEXT_TYPES.includes(type);
}

/** The keyword of a text chunk: Latin-1 up to its first NUL. */
export function keywordOf(chunk: Chunk): string | undefined {
  if (!isTextChunk(chunk.type)) return undefined;
  const nul = chunk.data.indexOf(0);
  return chunk.data.toString('latin1', 0, nul < 0 ? chunk.data.length : nul);
}

/** Text a tEXt chunk can hold: Latin-1 only (the spec's character set for tEXt and zTXt). */
export function isLatin1(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return false;
  return true;
}

/** A tEXt chunk when the text is Latin-1, else an uncompressed iTXt chunk (UTF-8), as Automatic1111 (PIL) does. */
export function encodeText(keyword: string, text: string, forceUtf8 = false): Buffer {
  // Neither kind may hold a NUL in its text (it ends the keyword); a prompt never needs one.
  const clean = text.split('\0').join('');
  const key = Buffer.from(keyword, 'latin1');
  if (!forceUtf8 && isLatin1(clean))
    return encodeChunk('tEXt', Buffer.concat([key, Buffer.from([0]), Buffer.from(clean, 'latin1')]));
  // keyword NUL, compression flag 0, method 0, empty language tag NUL, empty translated keyword NUL, UTF-8 text.
  return encodeChunk('iTXt', Buffer.concat([key, Buffer.from([0, 0, 0, 0, 0]), Buffer.from(clean, 'utf8')]));
}

function inflate(data: Buffer, where: string): Buffer {
  try {
    return zlib.inflateSync(data, { maxOutputLength: MAX_INFLATED_BYTES });
  } catch (err) {
    throw new PngError(`${where}: cannot inflate its text: ${(err as Error).message}`);
  }
}

/** Decodes a tEXt, zTXt or iTXt chunk; a chunk whose CRC does not match is refused rather than read. */
export function decodeText(chunk: Chunk): TextChunk {
  const keyword = keywordOf(chunk);
  if (keyword === undefined) throw new PngError(`${chunk.type} is not a text chunk`);
  const where = `${chunk.type} chunk '${keyword}'`;
  if (!chunk.crcOk) throw new PngError(`${where} has a bad CRC`);
  const d = chunk.data;
  const rest = keyword.length + 1;
  if (chunk.type === 'tEXt') return { type: 'tEXt', keyword, text: d.toString('latin1', rest) };
  if (chunk.type === 'zTXt')
    return { type: 'zTXt', keyword, text: inflate(d.subarray(rest + 1), where).toString('latin1') };
  if (rest + 2 > d.length) throw new PngError(`${where} is cut off`);
  const compressed = d[rest] === 1;
  const langEnd = d.indexOf(0, rest + 2);
  const translatedEnd = langEnd < 0 ? -1 : d.indexOf(0, langEnd + 1);
  if (translatedEnd < 0) throw new PngError(`${where} is cut off`);
  const body = d.subarray(translatedEnd + 1);
  return { type: 'iTXt', keyword, text: (compressed ? inflate(body, where) : body).toString('utf8') };
}

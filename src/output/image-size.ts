// The size of an image as stored, from its header: PNG's IHDR, a JPEG's frame header (SOFn), a WebP's VP8/VP8L/VP8X
// header. A provider may answer another size than was asked (a thumbnail, its nearest supported size): what an image
// says about itself (its metadata, the manifest) is this, never the request's.

export interface ImageSize {
  width: number;
  height: number;
}

/** The bytes that always hold a PNG's or WebP's size; a JPEG's frame header comes after its EXIF, usually within. */
export const SIZE_HEAD_BYTES = 64 * 1024;

const sized = (width: number, height: number): ImageSize | undefined =>
  width > 0 && height > 0 ? { width, height } : undefined;

function pngSize(b: Buffer): ImageSize | undefined {
  if (b.length < 24 || b.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  return sized(b.readUInt32BE(16), b.readUInt32BE(20));
}

/** Walks the JPEG's segments to its first frame header (SOF0..SOF15 but DHT, JPG and DAC). */
function jpegSize(b: Buffer): ImageSize | undefined {
  let at = 2;
  while (at + 9 <= b.length) {
    if (b[at] !== 0xff) return undefined;
    const marker = b[at + 1];
    if (marker === 0xff) {
      at++;
      continue;
    }
    const length = b.readUInt16BE(at + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return sized(b.readUInt16BE(at + 7), b.readUInt16BE(at + 5));
    // The scan starts: no frame header came before it.
    if (marker === 0xda) return undefined;
    at += 2 + length;
  }
  return undefined;
}

function webpSize(b: Buffer): ImageSize | undefined {
  if (b.length < 30) return undefined;
  const chunk = b.toString('latin1', 12, 16);
  if (chunk === 'VP8 ') return sized(b.readUInt16LE(26) & 0x3fff, b.readUInt16LE(28) & 0x3fff);
  if (chunk === 'VP8L') {
    const bits = b.readUInt32LE(21);
    return sized((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1);
  }
  if (chunk === 'VP8X') return sized(b.readUIntLE(24, 3) + 1, b.readUIntLE(27, 3) + 1);
  return undefined;
}

/** The size `head` (an image's first bytes) says, or undefined when its header does not say one. */
export function imageSize(mime: string, head: Buffer): ImageSize | undefined {
  if (mime === 'image/png') return pngSize(head);
  if (mime === 'image/jpeg') return jpegSize(head);
  if (mime === 'image/webp') return webpSize(head);
  return undefined;
}

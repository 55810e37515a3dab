// imagebatch's metadata in a PNG: the `parameters` chunk (Automatic1111) and the `imagebatch` iTXt chunk (JSON),
// written right after IHDR and read back. Pure functions over bytes.
import { type EmbeddedMetadata, IMAGEBATCH_KEY, metadataJson, PARAMETERS_KEY, parametersText } from './image-metadata';
import { decodeText, encodeText, keywordOf, PNG_SIGNATURE, PngError, readChunks, type TextChunk } from './png-chunks';

const OURS = [PARAMETERS_KEY, IMAGEBATCH_KEY];

export interface PngMetadata {
  /** The `parameters` text (Automatic1111's convention), from whichever tool wrote it. */
  parameters?: string;
  /** The `imagebatch` chunk: its JSON parsed, or its text when it is not JSON. */
  imagebatch?: unknown;
  /** Every text chunk of the file, in order. */
  texts: TextChunk[];
}

/** The chunks of `png` minus any `parameters` or `imagebatch` text chunk, checked to start with IHDR. */
function chunksWithoutOurs(png: Buffer) {
  const chunks = readChunks(png);
  if (chunks[0].type !== 'IHDR') throw new PngError(`not a PNG: its first chunk is ${chunks[0].type}, not IHDR`);
  return chunks.filter((c) => !OURS.includes(keywordOf(c) ?? ''));
}

/**
 * The PNG with imagebatch's two chunks, replacing any the provider wrote under the same keywords. They go right
 * after IHDR, where Automatic1111 (PIL) puts `parameters`: readers that stop at the first IDAT still find them.
 */
export function embedPngMetadata(png: Buffer, meta: EmbeddedMetadata): Buffer {
  const [ihdr, ...rest] = chunksWithoutOurs(png);
  const added = [
    encodeText(PARAMETERS_KEY, parametersText(meta)),
    encodeText(IMAGEBATCH_KEY, metadataJson(meta), true),
  ];
  return Buffer.concat([PNG_SIGNATURE, ihdr.raw, ...added, ...rest.map((c) => c.raw)]);
}

/** The PNG without imagebatch's chunks: the provider's bytes again when it wrote neither keyword itself. */
export function withoutPngMetadata(png: Buffer): Buffer {
  return Buffer.concat([PNG_SIGNATURE, ...chunksWithoutOurs(png).map((c) => c.raw)]);
}

/** The text chunks of a PNG; the first chunk of a keyword wins. Throws PngError for a file that is not a sound PNG. */
export function readPngMetadata(png: Buffer): PngMetadata {
  const texts = readChunks(png)
    .filter((c) => keywordOf(c) !== undefined)
    .map(decodeText);
  const find = (key: string) => texts.find((t) => t.keyword === key)?.text;
  const raw = find(IMAGEBATCH_KEY);
  let imagebatch: unknown = raw;
  if (raw !== undefined) {
    try {
      imagebatch = JSON.parse(raw);
    } catch {
      // Shown as the text it is: someone else's chunk under our keyword.
    }
  }
  return { parameters: find(PARAMETERS_KEY), imagebatch, texts };
}

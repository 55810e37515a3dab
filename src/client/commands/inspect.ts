// `imagebatch inspect FILE`: how an image was made, as the file itself says: a PNG's `parameters` and `imagebatch`
// chunks, or the sidecar `<file>.json` of a JPEG or WebP.
import fs from 'node:fs';
import { sidecarPath, sniffImage } from '../../output/image-file';
import { type EmbeddedMetadata, parametersText } from '../../output/image-metadata';
import { PngError } from '../../output/png-chunks';
import { readPngMetadata } from '../../output/png-metadata';
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

function readOrExplain(file: string, what: string): Buffer {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (err) {
    throw new UsageError(`${what} '${file}' cannot be read: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  // A FIFO or a device would block or never end: only regular files are read.
  if (!st.isFile()) throw new UsageError(`${what} '${file}' is not a regular file`);
  return fs.readFileSync(file);
}

function fromSidecar(file: string, mime: string): Inspection {
  const sidecar = sidecarPath(file);
  if (!fs.existsSync(sidecar)) return { file, mime, source: sidecar, parameters: null, imagebatch: null };
  let meta: unknown;
  try {
    meta = JSON.parse(readOrExplain(sidecar, 'sidecar').toString('utf8'));
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`sidecar '${sidecar}' is not JSON: ${(err as Error).message}`);
  }
  // The sidecar holds the JSON only; its parameters text is derived the way a PNG's chunk is written.
  const prompt = (meta as EmbeddedMetadata | null)?.prompt;
  const parameters = typeof prompt === 'string' ? parametersText(meta as EmbeddedMetadata) : null;
  return { file, mime, source: sidecar, parameters, imagebatch: meta };
}

/** What the file says about how it was made; UsageError (exit 2) when it is missing or not a sound image. */
export function inspectFile(file: string): Inspection {
  const data = readOrExplain(file, 'file');
  const kind = sniffImage(data.subarray(0, 16));
  if (!kind) throw new UsageError(`'${file}' is not a PNG, JPEG or WebP image`);
  if (kind.mime !== 'image/png') return fromSidecar(file, kind.mime);
  try {
    const found = readPngMetadata(data);
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

// Reference images (character keeping): local files are read and sent as base64, URLs are passed through.
// Only paths and URLs travel in workflow history; the bytes are read here, in the activity.
import fs from 'node:fs';
import type { ReferenceImage } from '../providers/types';
import { sniffImage } from './image-files';

/** Volcengine and DashScope both cap input images around 10-15 MB. */
const MAX_REFERENCE_BYTES = 10 * 1024 * 1024;

export async function loadReferenceImages(refs: string[] = []): Promise<ReferenceImage[]> {
  return Promise.all(
    refs.map(async (ref) => {
      if (/^https?:\/\//i.test(ref)) return { url: ref };
      const data = await fs.promises.readFile(ref);
      if (data.length > MAX_REFERENCE_BYTES)
        throw new Error(`reference image ${ref} is over ${MAX_REFERENCE_BYTES} bytes`);
      const kind = sniffImage(data.subarray(0, 16));
      if (!kind) throw new Error(`reference image ${ref} is not a PNG, JPEG or WebP image`);
      return { base64: data.toString('base64'), mime: kind.mime };
    }),
  );
}

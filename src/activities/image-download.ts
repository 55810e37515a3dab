// A provider's image given as a URL, downloaded at once into memory: bounded in size, time and redirects, so a
// hostile or broken answer cannot fill the worker's memory or hold the activity.
import { request } from 'undici';
import { DEFAULT_MAX_IMAGE_BYTES, ImageRejected } from '../output/image-file';

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

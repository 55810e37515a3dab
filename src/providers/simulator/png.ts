// Real PNGs, deterministic from prompt, seed and size: a gradient with blocks coloured from a hash.
import { createHash } from 'node:crypto';
import { PNG } from 'pngjs';

export function renderPng(prompt: string, seed: number, width = 1024, height = 1024): Buffer {
  const h = createHash('sha256').update(`${prompt}\u0000${seed}\u0000${width}x${height}`).digest();
  // A thumbnail of the requested aspect: 1/8 of the size, 16..256 px a side.
  const w = Math.min(256, Math.max(16, Math.round(width / 8)));
  const ht = Math.min(256, Math.max(16, Math.round(height / 8)));
  const png = new PNG({ width: w, height: ht });
  const block = 8;
  for (let y = 0; y < ht; y++) {
    for (let x = 0; x < w; x++) {
      const cell = ((Math.floor(y / block) * 7 + Math.floor(x / block)) * 3) % (h.length - 3);
      const i = (y * w + x) << 2;
      png.data[i] = (h[cell] + (x * 255) / w) & 0xff;
      png.data[i + 1] = (h[cell + 1] + (y * 255) / ht) & 0xff;
      png.data[i + 2] = h[cell + 2];
      png.data[i + 3] = 0xff;
    }
  }
  return PNG.sync.write(png);
}

// The size an image says it is, from its header, and what its metadata and the manifest then say: the stored image's
// size, not the request's (the simulator answers an eighth of the size asked, as a provider may answer another).
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { storeImage } from '../../src/output/image-file';
import type { EmbeddedMetadata } from '../../src/output/image-metadata';
import { imageSize } from '../../src/output/image-size';
import { buildManifest } from '../../src/output/manifest';
import { readPngMetadata } from '../../src/output/png-metadata';
import { renderPng } from '../../src/providers/simulator/png';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-image-size-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A JPEG of `w`x`h`: SOI, an APP0 segment, a baseline frame header (SOF0), EOI. */
function jpeg(w: number, h: number): Buffer {
  const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x10, ...Buffer.from('JFIF\0'), 1, 1, 0, 0, 1, 0, 1, 0, 0]);
  const sof = Buffer.from([
    0xff,
    0xc0,
    0x00,
    0x11,
    8,
    h >> 8,
    h & 0xff,
    w >> 8,
    w & 0xff,
    3,
    1,
    0x22,
    0,
    2,
    0x11,
    1,
    3,
    0x11,
    1,
  ]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof, Buffer.from([0xff, 0xd9])]);
}

/** A WebP of `w`x`h` with a VP8X header. */
function webp(w: number, h: number): Buffer {
  const b = Buffer.alloc(30);
  b.write('RIFF', 0, 'latin1');
  b.writeUInt32LE(22, 4);
  b.write('WEBPVP8X', 8, 'latin1');
  b.writeUInt32LE(10, 16);
  b.writeUIntLE(w - 1, 24, 3);
  b.writeUIntLE(h - 1, 27, 3);
  return b;
}

const META: EmbeddedMetadata = {
  batchId: 'b',
  itemId: 'a',
  prompt: 'a harbour at dusk',
  prompts: ['a harbour at dusk'],
  seed: 7,
  width: 1280,
  height: 720,
  provider: 'openai',
};

describe('imageSize', () => {
  it("reads a PNG's IHDR, a JPEG's frame header and a WebP's VP8X header", () => {
    expect(imageSize('image/png', renderPng('x', 1, 1280, 720))).toEqual({ width: 160, height: 90 });
    expect(imageSize('image/jpeg', jpeg(640, 480))).toEqual({ width: 640, height: 480 });
    expect(imageSize('image/webp', webp(300, 200))).toEqual({ width: 300, height: 200 });
    expect(imageSize('image/jpeg', Buffer.from([0xff, 0xd8, 0xff, 0xd9]))).toBeUndefined();
  });
});

describe('what a stored image says about its size', () => {
  it("a PNG answered smaller than asked: its chunks and the manifest say the image's size", async () => {
    const outDir = path.join(dir, 'png');
    const stored = await storeImage({ outDir, itemId: 'a' }, renderPng('x', 1, 1280, 720), undefined, META);
    const meta = readPngMetadata(fs.readFileSync(stored.file));
    expect(meta.parameters).toBe('a harbour at dusk\nSeed: 7, Size: 160x90, Provider: openai');
    expect(meta.imagebatch).toMatchObject({ width: 160, height: 90 });
    const manifest = buildManifest({
      dir: outDir,
      batchId: 'b',
      ids: ['a'],
      latest: new Map([
        [
          'a',
          {
            itemId: 'a',
            status: 'succeeded',
            file: stored.file,
            imageSize: stored.imageSize,
            provider: 'openai',
            attempts: 1,
            prompts: [],
            at: 0,
            seq: 1,
          },
        ],
      ]),
      requests: new Map([['a', { prompt: 'a harbour at dusk', width: 1280, height: 720 }]]),
      cancelled: false,
      provider: 'openai',
      now: new Date(),
    });
    expect(manifest.items[0]).toMatchObject({ width: 1280, height: 720, imageSize: { width: 160, height: 90 } });
  });

  it('a size is said even when none was asked; a JPEG sidecar says the JPEG header', async () => {
    const { width: _w, height: _h, ...unsized } = META;
    const png = await storeImage(
      { outDir: path.join(dir, 'unsized'), itemId: 'a' },
      renderPng('x', 1),
      undefined,
      unsized,
    );
    expect(readPngMetadata(fs.readFileSync(png.file)).parameters).toMatch(/Size: 128x128/);
    const jpg = await storeImage({ outDir: path.join(dir, 'jpeg'), itemId: 'a' }, jpeg(640, 480), undefined, META);
    expect(JSON.parse(fs.readFileSync(`${jpg.file}.json`, 'utf8'))).toMatchObject({ width: 640, height: 480 });
  });

  it('an image whose header does not say its size says none (rather than the request)', async () => {
    const bare = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0, 0, 0xff, 0xd9]);
    const jpg = await storeImage({ outDir: path.join(dir, 'bare'), itemId: 'a' }, bare, undefined, META);
    const sidecar = JSON.parse(fs.readFileSync(`${jpg.file}.json`, 'utf8'));
    expect(sidecar.width).toBeUndefined();
    expect(sidecar.height).toBeUndefined();
  });
});

// The worker's read of a reference image (no server): no link followed, no FIFO blocking, the size checked by
// fstat before a byte is read, and only PNG, JPEG or WebP bytes sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadReferenceImages, readReferenceFile } from '../../src/activities/references';
import { PNG } from '../helpers/items-fixture';

let dir: string;
const at = (name: string) => path.join(dir, name);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-refs-'));
  fs.writeFileSync(at('ok.png'), PNG);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: Error) => e.message,
  );

describe('reading a reference image in the worker', () => {
  it('reads a PNG and sends it as base64 with its type', async () => {
    expect(await loadReferenceImages([at('ok.png'), 'https://example.com/a.png'])).toEqual([
      { base64: PNG.toString('base64'), mime: 'image/png' },
      { url: 'https://example.com/a.png' },
    ]);
  });

  it('does not follow a symlink swapped in after validation', async () => {
    fs.symlinkSync(at('ok.png'), at('link.png'));
    expect(await failure(readReferenceFile(at('link.png')))).toMatch(/link\.png is a symbolic link/);
  });

  // How long the refusal takes and how much memory the 2 GB one costs are measured in bench/reference-reads.ts.
  it('refuses a FIFO swapped in, without blocking on it', async () => {
    execFileSync('mkfifo', [at('fifo.png')]);
    // A read that blocked on the FIFO would end at the read's timeout (60 s) with another message, or never.
    expect(await failure(readReferenceFile(at('fifo.png'), 60_000))).toMatch(/fifo\.png is not a regular file/);
  });

  it('refuses a 2 GB file by its fstat size', async () => {
    fs.writeFileSync(at('big.png'), PNG);
    fs.truncateSync(at('big.png'), 2 * 1024 ** 3);
    expect(await failure(readReferenceFile(at('big.png')))).toMatch(/is 2147483648 bytes, over the 10485760-byte/);
  });

  it('refuses bytes that are not an image, and an empty file', async () => {
    fs.writeFileSync(at('text.png'), 'hello, not an image');
    fs.writeFileSync(at('empty.png'), '');
    for (const f of ['text.png', 'empty.png'])
      expect(await failure(loadReferenceImages([at(f)]))).toMatch(/is not a PNG, JPEG or WebP image/);
  });

  it('a missing file says so', async () => {
    expect(await failure(readReferenceFile(at('gone.png')))).toMatch(/gone\.png cannot be opened: ENOENT/);
  });
});

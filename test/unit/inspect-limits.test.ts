// `inspect` on crafted files (real files on disk, sparse where they are huge): it reads a PNG only up to its image
// data and a text chunk or sidecar only under its limit, and refuses what is not metadata (exit 2, UsageError) with
// a message naming the file, instead of running out of memory or stack.
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { INSPECT_LIMITS, inspectFile } from '../../src/client/commands/inspect';
import { UsageError } from '../../src/client/exit-codes';
import { encodeChunk, encodeText, PNG_SIGNATURE } from '../../src/output/png-chunks';
import { rejectionOf } from '../helpers/failures';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-inspect-limits-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const IHDR = (() => {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(16, 0);
  d.writeUInt32BE(9, 4);
  d[8] = 8;
  d[9] = 2;
  return encodeChunk('IHDR', d);
})();
const IDAT = encodeChunk('IDAT', zlib.deflateSync(Buffer.alloc(9 * (16 * 3 + 1))));
const IEND = encodeChunk('IEND', Buffer.alloc(0));
/** A zTXt chunk: keyword, NUL, method 0, the deflated text. */
const ztxt = (keyword: string, text: string) =>
  encodeChunk('zTXt', Buffer.concat([Buffer.from(`${keyword}\0\0`, 'latin1'), zlib.deflateSync(text)]));

function write(name: string, ...parts: Buffer[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, Buffer.concat(parts));
  return file;
}
/** Extends `file` to `bytes` with a hole: huge on paper, nothing on disk. */
const grow = (file: string, bytes: number) => fs.truncateSync(file, bytes);
const refusal = (file: string) =>
  rejectionOf(
    Promise.resolve().then(() => inspectFile(file)),
    UsageError,
  );

describe('inspect limits', () => {
  it('reads a PNG only up to its image data: 3 GB after the IDAT are never read', () => {
    const file = write('tail.png', PNG_SIGNATURE, IHDR, encodeText('parameters', 'a quiet pond\nSeed: 1'), IDAT, IEND);
    grow(file, 3 * 1024 ** 3);
    expect(inspectFile(file)).toMatchObject({ source: 'chunks', parameters: 'a quiet pond\nSeed: 1' });
  });

  it('refuses a text chunk over the limit without reading it (a 100 MB chunk)', async () => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(100 * 1024 * 1024, 0);
    head.write('tEXt', 4, 'latin1');
    const file = write('big-chunk.png', PNG_SIGNATURE, IHDR, head);
    grow(file, 8 + IHDR.length + 12 + 100 * 1024 * 1024);
    const err = await refusal(file);
    expect(err.message).toBe(
      `'${file}': tEXt chunk at byte 33 is 104857600 bytes, over the 1 MB inspect reads of a chunk (metadata is a ` +
        'few KB): not metadata imagebatch wrote',
    );
  });

  it('refuses an imagebatch chunk nested 5,000,000 deep (it would overflow the stack to parse or print)', async () => {
    const deep = '['.repeat(5_000_000) + ']'.repeat(5_000_000);
    const file = write('deep.png', PNG_SIGNATURE, IHDR, ztxt('imagebatch', deep), IDAT, IEND);
    expect((await refusal(file)).message).toBe(
      `'${file}': its imagebatch chunk: JSON nested over ${INSPECT_LIMITS.depth} deep: not metadata imagebatch wrote`,
    );
  });

  it('refuses a chunk that claims more than the file holds, and a PNG with no image data', async () => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(5000, 0);
    head.write('iTXt', 4, 'latin1');
    expect((await refusal(write('short.png', PNG_SIGNATURE, IHDR, head))).message).toMatch(
      /truncated PNG: iTXt chunk at byte 33 claims 5000 bytes/,
    );
    expect((await refusal(write('no-idat.png', PNG_SIGNATURE, IHDR))).message).toMatch(/truncated PNG: no image data/);
  });

  it('refuses a sidecar over the limit without reading it (1.5 GB), and one nested too deep', async () => {
    const jpeg = write('photo.jpg', Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(100));
    fs.writeFileSync(`${jpeg}.json`, '');
    grow(`${jpeg}.json`, 1.5 * 1024 ** 3);
    expect((await refusal(jpeg)).message).toBe(
      `sidecar '${jpeg}.json' is 1610612736 bytes, over the 4 MB inspect reads (metadata is a few KB): not a ` +
        'sidecar imagebatch wrote',
    );
    fs.writeFileSync(`${jpeg}.json`, '{"a":'.repeat(300) + '1' + '}'.repeat(300));
    expect((await refusal(jpeg)).message).toMatch(/sidecar .*: JSON nested over 200 deep/);
    fs.writeFileSync(`${jpeg}.json`, JSON.stringify({ prompt: 'a lighthouse', seed: 3 }));
    expect(inspectFile(jpeg)).toMatchObject({ imagebatch: { prompt: 'a lighthouse', seed: 3 } });
  });
});

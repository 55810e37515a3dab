// Stored images (no server): the extension follows the bytes, the stored file is found again as existing, and the
// tmp file is never written through a symlink.
import { beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findExistingImage, storeImage } from '../../src/output/image-file';
import { PNG } from '../helpers/items-fixture';

const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(16), Buffer.from([0xff, 0xd9])]);
let outDir: string;
beforeEach(() => {
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-store-'));
});

describe('storeImage', () => {
  it('stores JPEG bytes asked for as .png under .jpg, and finds them again', async () => {
    const target = { outDir, itemId: 'a', filename: 'cover.png' };
    const stored = await storeImage(target, JPEG);
    expect(path.basename(stored.file)).toBe('cover.jpg');
    expect(stored.mime).toBe('image/jpeg');
    expect(fs.readdirSync(outDir)).toEqual(['cover.jpg']);
    expect((await findExistingImage(target))?.file).toBe(stored.file);
  });

  it('keeps a filename whose extension matches (.jpeg for JPEG, any case)', async () => {
    expect(path.basename((await storeImage({ outDir, itemId: 'a', filename: 'x.jpeg' }, JPEG)).file)).toBe('x.jpeg');
    expect(path.basename((await storeImage({ outDir, itemId: 'b', filename: 'y.PNG' }, PNG)).file)).toBe('y.PNG');
  });

  it('without a filename, <id>.<type>', async () => {
    expect(path.basename((await storeImage({ outDir, itemId: 'a' }, JPEG)).file)).toBe('a.jpg');
    expect((await findExistingImage({ outDir, itemId: 'a' }))?.mime).toBe('image/jpeg');
  });

  it('does not write through a symlink at the tmp path', async () => {
    const victim = path.join(outDir, 'victim.txt');
    fs.writeFileSync(victim, 'keep me');
    fs.symlinkSync(victim, path.join(outDir, 'p.png.tmp'));
    await storeImage({ outDir, itemId: 'p' }, PNG);
    expect(fs.readFileSync(victim, 'utf8')).toBe('keep me');
    expect(fs.readFileSync(path.join(outDir, 'p.png'))).toEqual(PNG);
  });
});

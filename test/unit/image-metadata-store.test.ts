// Metadata as stored: storeImage writes the chunks into a PNG (the sha256 is of the final file) or a sidecar beside a
// JPEG, before the image's rename; collectImage passes the workflow's metadata plus provider, model and task id, and
// an image already stored is not written again.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../src/activities';
import { findExistingImage, ImageRejected, storeImage } from '../../src/output/image-file';
import type { EmbeddedMetadata } from '../../src/output/image-metadata';
import { readPngMetadata } from '../../src/output/png-metadata';
import { providersFromEnv } from '../../src/providers';
import { renderPng } from '../../src/providers/simulator/png';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import type { ImageMetadata, StoredImage, SubmitImageOutput } from '../../src/shared/types';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(16), Buffer.from([0xff, 0xd9])]);
const META: EmbeddedMetadata = {
  batchId: 'b',
  itemId: 'a',
  prompt: '一只猫',
  prompts: ['一只猫'],
  seed: 7,
  width: 256,
  height: 256,
  provider: 'dashscope',
  model: 'wanx2.1-t2i-turbo',
  taskId: 't-1',
};

let outDir: string;
beforeEach(() => {
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-meta-'));
});

describe('storeImage with metadata', () => {
  it('writes the chunks into a PNG, and its sha256 and size are those of the final file', async () => {
    const png = renderPng('x', 1, 128, 128);
    const stored = await storeImage({ outDir, itemId: 'a' }, png, undefined, META);
    const onDisk = fs.readFileSync(stored.file);
    expect(onDisk.equals(png)).toBe(false);
    expect(stored.sha256).toBe(sha(onDisk));
    expect(stored.bytes).toBe(onDisk.length);
    expect(readPngMetadata(onDisk).imagebatch).toMatchObject({ prompt: '一只猫', taskId: 't-1', seed: 7 });
    expect(fs.readdirSync(outDir)).toEqual(['a.png']);
    // Found again as the same whole file.
    expect((await findExistingImage({ outDir, itemId: 'a' }))?.sha256).toBe(stored.sha256);
  });

  it('leaves a JPEG as it came and writes the same JSON into a sidecar <file>.json', async () => {
    const stored = await storeImage({ outDir, itemId: 'a', filename: 'cover.png' }, JPEG, undefined, META);
    expect(path.basename(stored.file)).toBe('cover.jpg');
    expect(fs.readFileSync(stored.file).equals(JPEG)).toBe(true);
    expect(stored.sha256).toBe(sha(JPEG));
    expect(fs.readdirSync(outDir).sort()).toEqual(['cover.jpg', 'cover.jpg.json']);
    const sidecar = JSON.parse(fs.readFileSync(`${stored.file}.json`, 'utf8'));
    expect(sidecar).toMatchObject({ prompt: '一只猫', provider: 'dashscope', model: 'wanx2.1-t2i-turbo', itemId: 'a' });
  });

  it('does not write through a symlink at the sidecar tmp path', async () => {
    const victim = path.join(outDir, 'victim.txt');
    fs.writeFileSync(victim, 'keep me');
    fs.symlinkSync(victim, path.join(outDir, 'a.jpg.json.tmp'));
    await storeImage({ outDir, itemId: 'a' }, JPEG, undefined, META);
    expect(fs.readFileSync(victim, 'utf8')).toBe('keep me');
    expect(fs.existsSync(path.join(outDir, 'a.jpg.json.tmp'))).toBe(false);
  });

  it('places no image whose sidecar cannot be placed, and leaves no tmp file', async () => {
    // A folder where the sidecar goes: its rename fails, so the image (renamed after it) is never in place.
    fs.mkdirSync(path.join(outDir, 'a.jpg.json'));
    await expect(storeImage({ outDir, itemId: 'a' }, JPEG, undefined, META)).rejects.toThrow();
    expect(fs.readdirSync(outDir)).toEqual(['a.jpg.json']);
  });

  it('without metadata stores the bytes as they came', async () => {
    const png = renderPng('x', 1, 128, 128);
    const stored = await storeImage({ outDir, itemId: 'a' }, png);
    expect(fs.readFileSync(stored.file).equals(png)).toBe(true);
  });

  it('refuses a PNG whose chunks do not add up, and leaves nothing behind', async () => {
    const png = renderPng('x', 1, 128, 128);
    const broken = Buffer.concat([png.subarray(0, 40), Buffer.from([0xff, 0xff]), png.subarray(40)]);
    await expect(storeImage({ outDir, itemId: 'a' }, broken, undefined, META)).rejects.toBeInstanceOf(ImageRejected);
    expect(fs.readdirSync(outDir)).toEqual([]);
  });
});

describe('collectImage with metadata', () => {
  let sim: ProviderSimulator;
  let acts: ReturnType<typeof createActivities>;
  beforeAll(async () => {
    sim = await startSimulator({ latencyMs: 0 });
    acts = createActivities({ providers: providersFromEnv(sim.env()), maxImageBytes: 1024 * 1024 });
  });
  afterAll(() => sim.close());

  it('writes the workflow metadata plus provider, model and task id; a stored image is not written again', async () => {
    const meta: ImageMetadata = { batchId: 'b', itemId: 'a', prompt: 'a fox', prompts: ['a fox'], seed: 3 };
    const target = { provider: 'dashscope' as const, outDir, itemId: 'a' };
    const out: SubmitImageOutput = await new MockActivityEnvironment().run(acts.submitImage, {
      ...target,
      request: { prompt: 'a fox' },
    });
    if (!('taskId' in out)) throw new Error(`expected a task, got ${JSON.stringify(out)}`);
    const input = { ...target, taskId: out.taskId, model: out.model, meta };
    const first: StoredImage = await new MockActivityEnvironment().run(acts.collectImage, input);
    const found = readPngMetadata(fs.readFileSync(first.file));
    expect(found.imagebatch).toMatchObject({ prompt: 'a fox', seed: 3, provider: 'dashscope', taskId: out.taskId });
    expect(found.imagebatch).toMatchObject({ model: out.model });
    expect(found.parameters).toBe(`a fox\nSeed: 3, Size: 128x128, Model: ${out.model}, Provider: dashscope`);

    const before = fs.statSync(first.file);
    const again: StoredImage = await new MockActivityEnvironment({ attempt: 2 }).run(acts.collectImage, {
      ...input,
      meta: { ...meta, prompt: 'another' },
    });
    expect(again.sha256).toBe(first.sha256);
    expect(fs.statSync(first.file).mtimeMs).toBe(before.mtimeMs);
    expect(fs.statSync(first.file).ino).toBe(before.ino);
  });
});

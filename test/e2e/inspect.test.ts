// `imagebatch inspect` on what a batch stored: every image carries its prompt and seed (PNG chunks), a JPEG's
// sidecar is read, and a file without metadata (exit 1) or that is not an image (exit 2) says so.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { simulatorAndFolder } from './batch-cleanup';
import { cliEnv, runCli } from '../helpers/cli';
import { renderPng } from '../../src/providers/simulator/png';

const fx = simulatorAndFolder('ib-inspect-');
const fast = ['--poll-interval', '0.2', '--max-wait', '30'];

function items(name: string, lines: object[]): string {
  const file = path.join(fx.dir, name);
  fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

describe('imagebatch inspect', () => {
  it("shows the item's prompt and seed in every image a batch stored", async () => {
    const id = `inspect-${process.pid}`;
    const file = items('batch.jsonl', [
      { id: 'fox', prompt: 'a red fox in fresh snow', seed: 42, negativePrompt: 'blurry' },
      { id: 'cat', prompt: '一只猫坐在窗台上，水彩风格', seed: 7, width: 512, height: 512 },
    ]);
    const out = path.join(fx.dir, 'out');
    const run = await runCli(['run', file, '--out', out, '--batch-id', id, '--json', ...fast], {
      env: cliEnv(fx.sim.env()),
    });
    expect(run.code, run.stderr).toBe(0);

    const fox = await runCli(['inspect', path.join(out, id, 'fox.png')]);
    expect(fox.code, fox.stdout + fox.stderr).toBe(0);
    expect(fox.stdout).toContain(
      'a red fox in fresh snow\nNegative prompt: blurry\nSeed: 42, Size: 128x128, Model: jimeng_t2i_v40',
    );
    expect(fox.stdout).toMatch(/Provider: volcengine/);

    const cat = await runCli(['inspect', path.join(out, id, 'cat.png'), '--json']);
    expect(cat.code, cat.stderr).toBe(0);
    const doc = JSON.parse(cat.stdout);
    expect(doc.parameters).toMatch(/^一只猫坐在窗台上，水彩风格\nSeed: 7, Size: 64x64, /);
    expect(doc.imagebatch).toMatchObject({
      prompt: '一只猫坐在窗台上，水彩风格',
      prompts: ['一只猫坐在窗台上，水彩风格'],
      seed: 7,
      width: 64,
      height: 64,
      provider: 'volcengine',
      batchId: id,
      itemId: 'cat',
    });
    // The manifest's sha256 is of the file as stored, chunks included.
    const manifest = JSON.parse(fs.readFileSync(path.join(out, id, 'manifest.json'), 'utf8'));
    const entry = manifest.items.find((e: { id: string }) => e.id === 'cat');
    expect(entry.sha256).toBe(
      createHash('sha256')
        .update(fs.readFileSync(path.join(out, id, 'cat.png')))
        .digest('hex'),
    );
    expect(entry.providerTaskId).toBe(doc.imagebatch.taskId);
    // The request asked 512x512; the manifest says both that and the stored image's own size.
    expect(entry).toMatchObject({ width: 512, height: 512, imageSize: { width: 64, height: 64 } });
  });

  it("reads a JPEG's sidecar", async () => {
    const jpeg = path.join(fx.dir, 'photo.jpg');
    fs.writeFileSync(jpeg, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0, 0xff, 0xd9]));
    const sidecar = { prompt: 'a photo', prompts: ['a photo'], seed: 1, provider: 'openai', batchId: 'b', itemId: 'p' };
    fs.writeFileSync(`${jpeg}.json`, JSON.stringify(sidecar));
    const r = await runCli(['inspect', jpeg]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`parameters (from ${jpeg}.json):\na photo\nSeed: 1, Provider: openai`);
    expect(r.stdout).toContain('"itemId": "p"');
  });

  it('says when an image has no metadata (exit 1), and refuses what is not an image or not there (exit 2)', async () => {
    const bare = path.join(fx.dir, 'bare.png');
    fs.writeFileSync(bare, renderPng('bare', 1, 64, 64));
    const none = await runCli(['inspect', bare]);
    expect(none.code).toBe(1);
    expect(none.stdout).toMatch(/no metadata/);

    const text = path.join(fx.dir, 'notes.png');
    fs.writeFileSync(text, 'not an image at all');
    const notImage = await runCli(['inspect', text]);
    expect(notImage.code).toBe(2);
    expect(notImage.stderr).toMatch(/is not a PNG, JPEG or WebP image/);

    const missing = await runCli(['inspect', path.join(fx.dir, 'nowhere.png')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot be read: ENOENT/);
  });
});

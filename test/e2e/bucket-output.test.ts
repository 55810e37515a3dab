// `--out s3://BUCKET/PREFIX` end to end: a real batch (the CLI's own worker, the provider simulator) against a real
// S3 server that checks signatures (versitygw). The batch's files are read back from the server's own folder (a
// bucket is a folder there): every image once with the manifest's sha256, the manifest and gallery beside them, the
// large items list paged from the bucket, and nothing written to a local folder. Bad storage is refused before
// anything starts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runInputOf } from '../../src/client/batch-lookup';
import { INLINE_LIMIT_BYTES } from '../../src/output/items-copy';
import type { Manifest } from '../../src/output/manifest';
import type { ProviderSimulator } from '../../src/providers/simulator/server';
import type { BatchInput } from '../../src/shared/batch-types';
import { expectNothingStarted, simulatorAndFolder } from './batch-cleanup';
import { cliEnv, runCli } from '../helpers/cli';
import { knobsFrom } from '../helpers/simulator-knobs';
import { type S3Server, startS3Server } from '../helpers/s3-server';
import { testClient } from '../helpers/temporal';

const fx = simulatorAndFolder('ib-bucket-out-');
let s3: S3Server;
let bucket: string;

beforeAll(async () => {
  s3 = await startS3Server();
  bucket = await s3.createBucket('imagebatch-e2e');
});
afterAll(async () => s3?.stop());

const env = () => cliEnv({ ...fx.sim.env(), ...s3.env });
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
/** An object as the server stored it: its file under the bucket's folder. */
const objectAt = (key: string) => path.join(s3.root, bucket, ...key.split('/'));
const submissions = (sim: ProviderSimulator) => sim.stats().submissions;

/** An empty folder to run the CLI in: anything the batch wrote locally (an `s3:` folder) would land here. */
function emptyCwd(name: string): string {
  const cwd = path.join(fx.dir, name);
  fs.mkdirSync(cwd);
  return cwd;
}

describe('run --out s3://BUCKET/PREFIX', () => {
  it('stores every image, the manifest and the gallery in the bucket, pages the items from it, and nothing locally', async () => {
    // Items too large to travel in the workflow input (a few, each with 50 KB of params, so the batch stays short):
    // the items copy goes into the bucket and workers page it in.
    const note = 'x'.repeat(50_000);
    const lines = Array.from({ length: 6 }, (_, i) =>
      JSON.stringify({ id: `img-${i}`, prompt: `harbour ${i}`, params: { note } }),
    );
    expect(Buffer.byteLength(lines.join('\n'))).toBeGreaterThan(INLINE_LIMIT_BYTES);
    const items = path.join(fx.dir, 'large.jsonl');
    fs.writeFileSync(items, lines.join('\n') + '\n');
    const cwd = emptyCwd('run-large');
    const id = `bucket-large-${process.pid}`;

    const r = await runCli(['run', items, '--out', `s3://${bucket}/runs/today`, '--batch-id', id, '--json'], {
      env: env(),
      cwd,
    });
    expect(r.stderr).not.toContain('Error');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    const location = `s3://${bucket}/runs/today/${id}`;
    expect(doc).toMatchObject({
      manifest: `${location}/manifest.json`,
      files: location,
      pull: `imagebatch pull ${id} --out DIR`,
    });

    // The workflow was given the copy in the bucket, not the items.
    const input = await runInputOf<BatchInput>(await testClient(), `batch-${id}`);
    expect(input.outDir).toBe(location);
    expect(input.items).toMatchObject({ kind: 'file', path: `${location}/.imagebatch/items.jsonl`, count: 6 });
    expect(fs.existsSync(objectAt(`runs/today/${id}/.imagebatch/items.jsonl`))).toBe(true);

    const manifest = JSON.parse(fs.readFileSync(objectAt(`runs/today/${id}/manifest.json`), 'utf8')) as Manifest;
    expect(manifest.counts).toMatchObject({ succeeded: 6, failed: 0 });
    for (const e of manifest.items) {
      expect(e.status).toBe('succeeded');
      // The manifest names the image relative to the batch, and says its size without having read it again.
      expect(e.file).toBe(`${e.id}.png`);
      expect(e.imageSize).toBeDefined();
      expect(sha256(fs.readFileSync(objectAt(`runs/today/${id}/${e.file}`)))).toBe(e.sha256);
    }
    const images = fs.readdirSync(objectAt(`runs/today/${id}`)).filter((f) => f.endsWith('.png'));
    expect(images).toHaveLength(6);
    expect(fs.readFileSync(objectAt(`runs/today/${id}/index.html`), 'utf8')).toContain('img-5.png');
    // Every submit was collected: the journal is gone from the bucket.
    expect(fs.existsSync(objectAt(`runs/today/${id}/.imagebatch/tasks`))).toBe(false);
    expect(fs.readdirSync(cwd)).toEqual([]);
  });

  it('prints where the files are and the pull command; report rewrites the gallery there, --open says to pull', async () => {
    const items = path.join(fx.dir, 'one.txt');
    fs.writeFileSync(items, 'a lighthouse at dusk\n');
    const id = `bucket-one-${process.pid}`;
    const cwd = emptyCwd('run-one');
    const r = await runCli(['run', items, '--out', `s3://${bucket}/p`, '--batch-id', id], { env: env(), cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Images and manifest: s3://${bucket}/p/${id}/manifest.json`);
    expect(r.stdout).toContain(`Gallery: s3://${bucket}/p/${id}/index.html`);
    expect(r.stdout).toContain(`imagebatch pull ${id} --out DIR`);

    const status = await runCli(['status', id], { env: env(), cwd });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`Files: s3://${bucket}/p/${id}/`);
    expect(status.stdout).toContain(`imagebatch pull ${id} --out DIR`);

    // report writes the gallery again in the bucket; it cannot open it from there, and says to pull first.
    const gallery = objectAt(`p/${id}/index.html`);
    fs.rmSync(gallery);
    const report = await runCli(['report', id], { env: env(), cwd });
    expect(report.code).toBe(0);
    expect(report.stdout.trim()).toBe(`s3://${bucket}/p/${id}/index.html`);
    expect(fs.readFileSync(gallery, 'utf8')).toContain(`${id}`);
    const open = await runCli(['report', id, '--open'], { env: env(), cwd });
    expect(open.code).toBe(2);
    expect(open.stderr).toContain(`imagebatch pull ${id} --out DIR`);
    const inspect = await runCli(['inspect', `s3://${bucket}/p/${id}/1.png`], { env: env(), cwd });
    expect(inspect.code).toBe(2);
    expect(inspect.stderr).toContain('imagebatch pull');
    expect(fs.readdirSync(cwd)).toEqual([]);
  });
});

describe('retry of a bucket batch', () => {
  it('works its failed items through the bucket: the manifest there says every item succeeded', async () => {
    const items = path.join(fx.dir, 'retry.jsonl');
    fs.writeFileSync(items, '{"id":"a","prompt":"a red kite"}\n{"id":"b","prompt":"unlucky"}\n');
    const id = `bucket-retry-${process.pid}`;
    const cwd = emptyCwd('retry');
    fx.sim.setKnobs({ moderationWords: ['unlucky'] });
    try {
      const first = await runCli(['run', items, '--out', `s3://${bucket}/r`, '--batch-id', id], { env: env(), cwd });
      expect(first.code).toBe(1);
      fx.sim.setKnobs({ moderationWords: [] });
      const again = await runCli(['retry', id, '--json'], { env: env(), cwd });
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout).counts).toMatchObject({ total: 2, succeeded: 2, failed: 0 });
    } finally {
      fx.sim.setKnobs(knobsFrom({ latencyMs: 100 }));
    }
    const manifest = JSON.parse(fs.readFileSync(objectAt(`r/${id}/manifest.json`), 'utf8')) as Manifest;
    expect(manifest).toMatchObject({ batchId: `${id}-r1`, retryOf: id });
    for (const e of manifest.items) {
      expect(e.status).toBe('succeeded');
      expect(sha256(fs.readFileSync(objectAt(`r/${id}/${e.file}`)))).toBe(e.sha256);
    }
    expect(fs.readdirSync(cwd)).toEqual([]);
  });
});

describe('bad storage is refused before anything starts', () => {
  it.each(['run', 'start'])('%s --out s3:// of an unknown bucket: exit 2 naming it, nothing submitted', async (cmd) => {
    const items = path.join(fx.dir, 'two.txt');
    fs.writeFileSync(items, 'a fox\na crow\n');
    const id = `bucket-unknown-${cmd}-${process.pid}`;
    const before = submissions(fx.sim);
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-bucket-none-'));
    const r = await runCli([cmd, items, '--out', 's3://no-such-bucket-here/p', '--batch-id', id], { env: env(), cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no-such-bucket-here');
    expect(r.stderr).toContain('the bucket does not exist');
    await expectNothingStarted(id);
    expect(submissions(fx.sim)).toBe(before);
    expect(fs.readdirSync(cwd)).toEqual([]);
  });
});

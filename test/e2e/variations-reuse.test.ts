// Variations, filename templates and reuse of a manifest, through the CLI: `n: 3` with a --filename template makes
// three files and three submissions; `run manifest.json --only failed` regenerates only the failed item; a template
// collision exits 2 naming both lines and starts nothing.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { Manifest } from '../../src/output/manifest';
import { cliEnv, runCli } from '../helpers/cli';
import { expectNothingStarted, simulatorAndFolder } from './batch-cleanup';

const fx = simulatorAndFolder('ib-variations-');
const fast = ['--poll-interval', '0.2', '--max-wait', '30'];
let n = 0;
const batchId = (prefix: string) => `${prefix}-${++n}-${process.pid}`;
const simEnv = () => cliEnv(fx.sim.env());

function items(name: string, lines: object[]): string {
  const file = path.join(fx.dir, name);
  fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

describe('variations, templates and reuse through the CLI', () => {
  it('n: 3 with a --filename template: three files with the rendered names, three submissions', async () => {
    const id = batchId('var');
    const out = path.join(fx.dir, 'out');
    const file = items('var.jsonl', [{ id: 'cat', prompt: 'a tabby cat on a roof', n: 3, seed: 40 }]);
    const before = fx.sim.stats().submissionsByPrompt['a tabby cat on a roof'] ?? 0;
    const r = await runCli(
      ['run', file, '--out', out, '--batch-id', id, '--filename', '{batch}-{index:02}-{id}-{seed}.png', ...fast],
      { env: simEnv() },
    );
    expect(r.code).toBe(0);
    const names = [1, 2, 3].map((k) => `${id}-0${k}-cat-${k}-${39 + k}.png`);
    expect(
      fs
        .readdirSync(path.join(out, id))
        .filter((f) => f.endsWith('.png'))
        .sort(),
    ).toEqual(names);
    const stats = fx.sim.stats();
    expect(stats.submissionsByPrompt['a tabby cat on a roof'] - before).toBe(3);
    expect(stats.seedsByPrompt['a tabby cat on a roof'].slice(-3).sort()).toEqual([40, 41, 42]);
    const manifest = JSON.parse(fs.readFileSync(path.join(out, id, 'manifest.json'), 'utf8')) as Manifest;
    expect(manifest.items.map((e) => [e.id, e.group, e.variant, e.seed, e.file])).toEqual(
      [1, 2, 3].map((k) => [`cat-${k}`, 'cat', k, 39 + k, names[k - 1]]),
    );
  });

  it('run out/<b>/manifest.json --only failed regenerates only the failed item', async () => {
    const id = batchId('first');
    const out = path.join(fx.dir, 'reuse');
    // The simulator's moderation refuses "gore"; without simplifications the item fails.
    const file = items('mixed.jsonl', [
      { id: 'ok', prompt: 'a quiet lake at dawn' },
      { id: 'bad', prompt: 'a gore scene', policy: { simplifications: 0 } },
    ]);
    const first = await runCli(['run', file, '--out', out, '--batch-id', id, ...fast], { env: simEnv() });
    expect(first.code).toBe(1);
    const manifestFile = path.join(out, id, 'manifest.json');

    const before = fx.sim.stats();
    const again = batchId('again');
    const r = await runCli(
      ['run', manifestFile, '--only', 'failed', '--out', out, '--batch-id', again, '--json', ...fast],
      {
        env: simEnv(),
      },
    );
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as { counts: Record<string, number> };
    expect(doc.counts).toMatchObject({ total: 1, failed: 1 });
    const after = fx.sim.stats();
    // Only the failed item was asked for again: one refused submission of its prompt, nothing for the other.
    expect(after.refusedSubmissions - before.refusedSubmissions).toBe(1);
    expect(after.submissionsByPrompt['a quiet lake at dawn']).toBe(before.submissionsByPrompt['a quiet lake at dawn']);
    const manifest = JSON.parse(fs.readFileSync(path.join(out, again, 'manifest.json'), 'utf8')) as Manifest;
    expect(manifest.items.map((e) => [e.id, e.status, e.prompt])).toEqual([['bad', 'failed', 'a gore scene']]);
  });

  it('a template collision exits 2 naming both lines and starts nothing', async () => {
    const id = batchId('clash');
    const file = items('clash.jsonl', [
      { id: 'a', prompt: 'one', model: 'same' },
      { id: 'b', prompt: 'two', model: 'other' },
      { id: 'c', prompt: 'three', model: 'SAME' },
    ]);
    const before = fx.sim.stats().submissions;
    const r = await runCli(
      ['run', file, '--out', path.join(fx.dir, 'clash'), '--batch-id', id, '--filename', '{model}.png', ...fast],
      { env: simEnv() },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:3: filename: 'SAME.png' is the same file as line 1's 'same.png'`);
    expect(r.stderr).toContain('nothing was started');
    await expectNothingStarted(id);
    expect(fx.sim.stats().submissions).toBe(before);
  });
});

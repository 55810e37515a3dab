// A --batch-id already used: a running batch is refused (never joined), a finished one may only run the same items
// again (what it made is skipped); other items are refused before anything is written.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { simulatorAndFolder, terminatedAfterEach } from './batch-cleanup';
import { cliEnv, runCli } from '../helpers/cli';
import { testClient, uniqueQueue } from '../helpers/temporal';

const fx = simulatorAndFolder('ib-reuse-');
let n = 0;
const fast = ['--poll-interval', '0.2', '--max-wait', '30'];
const batchId = (prefix: string) => `${prefix}-${++n}-${process.pid}`;

const leftRunning = terminatedAfterEach();

const simEnv = () => cliEnv(fx.sim.env());

function items(name: string, lines: object[]): string {
  const file = path.join(fx.dir, name);
  fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

const runIdOf = async (id: string) => (await (await testClient()).workflow.getHandle(`batch-${id}`).describe()).runId;

describe('--batch-id of a batch that exists', () => {
  it('of a running batch: start and run exit 2 naming it, and the running batch is left alone', async () => {
    const id = batchId('running');
    leftRunning.push(id);
    const file = items('running.jsonl', [{ id: 'a', prompt: 'a slow river' }]);
    // No worker polls this queue: the batch stays running.
    const first = await runCli(
      ['start', file, '--out', fx.dir, '--batch-id', id, '--task-queue', uniqueQueue('idle')],
      {
        env: simEnv(),
      },
    );
    expect(first.code).toBe(0);
    const runId = await runIdOf(id);
    for (const cmd of ['start', 'run']) {
      const r = await runCli([cmd, file, '--out', fx.dir, '--batch-id', id, ...fast], { env: simEnv() });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        `batch ${id} is running; \`imagebatch watch ${id}\` follows it, or choose another --batch-id`,
      );
      expect(r.stderr).not.toMatch(/started/);
      expect(r.stdout).toBe('');
    }
    expect(await runIdOf(id)).toBe(runId);
    expect(fx.sim.stats().submissions).toBe(0);
  });

  it('of a finished batch: the same items run again (skipped); other items exit 2 and change nothing', async () => {
    const id = batchId('finished');
    const out = path.join(fx.dir, 'out');
    const file = items('done.jsonl', [
      { id: 'a', prompt: 'a red kite' },
      { id: 'b', prompt: 'a blue boat' },
    ]);
    const first = await runCli(['run', file, '--out', out, '--batch-id', id, ...fast], { env: simEnv() });
    expect(first.code).toBe(0);

    const again = await runCli(['run', file, '--out', out, '--batch-id', id, '--json', ...fast], { env: simEnv() });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).counts).toMatchObject({ total: 2, succeeded: 2, skipped: 2 });

    const manifestFile = path.join(out, id, 'manifest.json');
    const manifest = fs.readFileSync(manifestFile, 'utf8');
    const runId = await runIdOf(id);
    const other = items('other.jsonl', [
      { id: 'a', prompt: 'a green kite' },
      { id: 'b', prompt: 'a blue boat' },
    ]);
    const fewer = items('fewer.jsonl', [{ id: 'a', prompt: 'a red kite' }]);
    for (const [cmd, f] of [
      ['run', other],
      ['start', other],
      ['run', fewer],
    ]) {
      const r = await runCli([cmd, f, '--out', out, '--batch-id', id, ...fast], { env: simEnv() });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`batch ${id} already ran other items into ${path.join(out, id)}`);
      expect(r.stderr).toContain('choose another --batch-id');
      expect(r.stdout).toBe('');
    }
    expect(await runIdOf(id)).toBe(runId);
    expect(fs.readFileSync(manifestFile, 'utf8')).toBe(manifest);
  });
});

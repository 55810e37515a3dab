// `--batch-api` through the CLI, on the test run's dev server with the simulator's Batch API over real HTTP: `run`
// makes the batch's images in one job at the batch rate (the manifest says so per item, status shows the job), a
// wrong provider is refused before anything starts, and a worker SIGKILLed between the job's create and its answer
// leaves one job, not two: the next worker finds it by its key and every line is run once.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { cliEnv, runCli, spawnCli } from '../helpers/cli';
import { readManifest } from '../helpers/batch';
import { waitFor } from '../helpers/image-env';
import { testClient, uniqueQueue } from '../helpers/temporal';
import { simulatorAndFolder, terminatedAfterEach } from './batch-cleanup';

const fx = simulatorAndFolder('ib-batch-api-');
const leftRunning = terminatedAfterEach();
const QUIET = { jobMs: 300, validatingShare: 0.1, expireAfterMs: 0, rateLimitFirst: 0, queueLimit: 0, shuffle: true };
let n = 0;
const batchId = (prefix: string) => `${prefix}-${++n}-${process.pid}`;

function itemsFile(name: string, count: number): string {
  const file = path.join(fx.dir, `${name}.jsonl`);
  const lines = Array.from({ length: count }, (_, i) => JSON.stringify({ id: `${name}-${i}`, prompt: `${name} ${i}` }));
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

const openaiEnv = () => {
  const all = fx.sim.env();
  return { OPENAI_API_KEY: all.OPENAI_API_KEY, OPENAI_BASE_URL: all.OPENAI_BASE_URL };
};
const jobsOf = async () =>
  (await (await fetch(`${fx.sim.url}/__openai-batches`)).json()) as {
    creates: number;
    linesByPrompt: Record<string, number>;
    jobs: { status: string; lines: number }[];
  };

describe('--batch-api', () => {
  it('run: one job for the batch, every item made by it and marked as billed at the batch rate', async () => {
    fx.sim.reset();
    fx.sim.setKnobs({ openaiBatch: QUIET });
    const id = batchId('run');
    const r = await runCli(
      [
        'run',
        itemsFile('run', 3),
        '--out',
        fx.dir,
        '--batch-id',
        id,
        '--provider',
        'openai',
        '--batch-api',
        '--poll-interval',
        '0.2',
      ],
      { env: cliEnv({ ...openaiEnv(), IMAGEBATCH_BATCH_API_MAX_LINES: '2' }) },
    );
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    // Its progress names the jobs, with their state and counts.
    expect(r.stderr).toMatch(/jobs: batch_\w+ (validating|in_progress|completed) \d+\/\d/);
    const m = readManifest(path.join(fx.dir, id));
    expect(m.items.map((e) => [e.status, e.batchApi])).toEqual([
      ['succeeded', true],
      ['succeeded', true],
      ['succeeded', true],
    ]);
    // IMAGEBATCH_BATCH_API_MAX_LINES=2: three items in two files.
    expect((await jobsOf()).jobs.map((j) => j.lines).sort()).toEqual([1, 2]);
    expect(fx.sim.stats().byProvider.openai?.submissions ?? 0).toBe(0);
  });

  it('is refused with another provider, before anything starts', async () => {
    const r = await runCli(['run', itemsFile('fal', 1), '--out', fx.dir, '--provider', 'fal', '--batch-api'], {
      env: cliEnv({ FAL_KEY: 'x' }),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--batch-api needs --provider openai/);
  });

  it('a worker SIGKILLed between the create and its answer: no second job, every line once', async () => {
    fx.sim.reset();
    // The simulator makes the job, then holds the answer: the worker is killed while it waits.
    fx.sim.setKnobs({ openaiBatch: { ...QUIET, createAnswerDelayMs: 600_000 } });
    const queue = uniqueQueue('bapi-kill');
    const env = cliEnv({ ...openaiEnv(), IMAGEBATCH_LOG_LEVEL: 'WARN', IMAGEBATCH_TASK_QUEUE: queue });
    let worker = spawnCli(['worker', '--task-queue', queue], { env });
    const id = batchId('kill');
    leftRunning.push(id);
    const started = await runCli(
      ['start', itemsFile('kill', 4), '--out', fx.dir, '--batch-id', id, '--provider', 'openai', '--batch-api'],
      { env },
    );
    expect(started.code).toBe(0);
    await waitFor(async () => (await jobsOf()).creates === 1, 'the job created', 60_000);
    worker.kill('SIGKILL');
    await worker.done;
    fx.sim.setKnobs({ openaiBatch: QUIET });
    worker = spawnCli(['worker', '--task-queue', queue], { env });
    try {
      const summary = await (await testClient()).workflow.getHandle(`batch-${id}`).result();
      expect(summary).toMatchObject({ succeeded: 4, failed: 0 });
    } finally {
      worker.kill('SIGTERM');
      await worker.done;
    }
    const jobs = await jobsOf();
    expect(jobs.creates).toBe(1);
    expect(Object.values(jobs.linesByPrompt)).toEqual([1, 1, 1, 1]);
    expect(readManifest(path.join(fx.dir, id)).items.every((e) => e.status === 'succeeded')).toBe(true);
  });
});

// A batch through OpenAI's Batch API (`batchApi` in its input, as `--batch-api` sets it), on the test run's dev
// server with a real worker and the simulator's Files and Batches endpoints over real HTTP: jobs made, waited on with
// durable timers, their results read into images by custom_id; moderation rescued in the next job or one by one,
// expiry's partial results and the rest in a next job, a cancel mid-job, and a batch split into several files.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ProviderSimulator } from '../../src/providers/simulator/server';
import type { BatchApiSettings } from '../../src/shared/batch-api';
import { BATCH_API_CONCURRENCY } from '../../src/shared/batch-api';
import { progressQuery } from '../../src/shared/messages';
import { makeItems, readManifest, startTestBatch } from '../helpers/batch';
import { FAST_POLICY, type ImageEnv, startImageEnv, waitFor } from '../helpers/image-env';

let env: ImageEnv;
const QUIET = { jobMs: 300, validatingShare: 0.1, expireAfterMs: 0, rateLimitFirst: 0, queueLimit: 0, shuffle: true };
const settings = (more: Partial<BatchApiSettings> = {}): BatchApiSettings => ({
  retry: 'next-job',
  firstPollMs: 100,
  maxPollMs: 300,
  ...more,
});
let n = 0;
const batchId = (prefix: string) => `${prefix}-${++n}-${process.pid}`;

interface Jobs {
  creates: number;
  refusedCreates: number;
  linesByPrompt: Record<string, number>;
  jobs: { id: string; status: string; lines: number; refused?: string }[];
}
const jobsOf = async (sim: ProviderSimulator): Promise<Jobs> =>
  (await fetch(`${sim.url}/__openai-batches`)).json() as Promise<Jobs>;

function start(id: string, items: ReturnType<typeof makeItems>, s: BatchApiSettings, policy = FAST_POLICY) {
  return startTestBatch(env, id, items, {
    provider: 'openai',
    concurrency: BATCH_API_CONCURRENCY,
    policy,
    batchApi: s,
  });
}

beforeAll(async () => {
  env = await startImageEnv({ moderationWords: ['血腥', 'gore'], latencyMs: 100 });
});
afterAll(() => env.stop());
beforeEach(() => {
  env.sim.reset();
  env.sim.setKnobs({ openaiBatch: QUIET });
});

describe('--batch-api', () => {
  it('moderation: rescued in the next job (simplified), refused when it cannot be; each line sent once', async () => {
    const items = [
      ...makeItems(4, 'harbour'),
      { id: 'rescued', prompt: '血腥 battle scene, a castle' },
      { id: 'refused', prompt: 'gore' },
    ];
    const { handle, outDir } = await start(batchId('mod'), items, settings());
    const summary = await handle.result();
    expect(summary).toMatchObject({ succeeded: 5, failed: 1 });
    const m = readManifest(outDir);
    const byId = Object.fromEntries(m.items.map((e) => [e.id, e]));
    expect(byId.rescued).toMatchObject({
      status: 'succeeded',
      prompts: ['血腥 battle scene, a castle', 'battle scene, a castle'],
    });
    expect(byId.refused).toMatchObject({ status: 'failed', errorType: 'ContentRejected' });
    for (const e of m.items) expect(e).toMatchObject({ batchApi: true, provider: 'openai' });
    const jobs = await jobsOf(env.sim);
    // The first job with all six lines, the next with the rescued one simplified: no other request was made.
    expect(jobs.jobs.map((j) => j.lines).sort()).toEqual([1, 6]);
    expect(Object.values(jobs.linesByPrompt)).toEqual([1, 1, 1, 1, 1, 1, 1]);
    expect(env.sim.stats().byProvider.openai?.submissions ?? 0).toBe(0);
  });

  it('--batch-retry individual: the simplified prompt goes one by one (a normal call), not into another job', async () => {
    const items = [...makeItems(2, 'kite'), { id: 'rescued', prompt: '血腥 battle scene, a castle' }];
    const { handle, outDir } = await start(batchId('one'), items, settings({ retry: 'individual' }));
    expect(await handle.result()).toMatchObject({ succeeded: 3, failed: 0 });
    expect((await jobsOf(env.sim)).jobs).toHaveLength(1);
    expect(env.sim.stats().byProvider.openai.submissions).toBe(1);
    const rescued = readManifest(outDir).items.find((e) => e.id === 'rescued')!;
    expect(rescued.prompts.at(-1)).toBe('battle scene, a castle');
  });

  it('a batch larger than one file is split into several jobs, every line in exactly one', async () => {
    const items = makeItems(7, 'split');
    const { handle, outDir } = await start(batchId('split'), items, settings({ maxLines: 3 }));
    expect(await handle.result()).toMatchObject({ succeeded: 7 });
    const jobs = await jobsOf(env.sim);
    expect(jobs.jobs.map((j) => j.lines).sort()).toEqual([1, 3, 3]);
    expect(Object.keys(jobs.linesByPrompt).sort()).toEqual(items.map((i) => i.prompt).sort());
    expect(Object.values(jobs.linesByPrompt).every((v) => v === 1)).toBe(true);
    expect(readManifest(outDir).items.every((e) => e.status === 'succeeded' && e.file)).toBe(true);
  });

  it('expiry with partial results: the finished lines are images, the rest go into a next job', async () => {
    env.sim.setKnobs({
      openaiBatch: { ...QUIET, jobMs: 4000, validatingShare: 0, expireAfterMs: 2000, shuffle: false },
    });
    const items = makeItems(4, 'tide');
    const { handle } = await start(batchId('exp'), items, settings());
    // The first job was made under the expiring knobs; the next one is not.
    await waitFor(async () => (await jobsOf(env.sim)).creates >= 1, 'the first job');
    env.sim.setKnobs({ openaiBatch: QUIET });
    expect(await handle.result()).toMatchObject({ succeeded: 4 });
    const jobs = await jobsOf(env.sim);
    expect(jobs.jobs.map((j) => [j.status, j.lines])).toEqual([
      ['expired', 4],
      ['completed', 2],
    ]);
    // Each prompt billed once: the two that finished before the expiry were not sent again.
    expect(Object.values(jobs.linesByPrompt).sort()).toEqual([1, 1, 2, 2]);
  });

  // OpenAI's refusal may come with the create's answer or later, in validation: either way the job waits its turn.
  it.each([false, true])(
    "a create refused for the account's enqueued limit waits its turn: no item fails, each line is run once (refused in validation: %s)",
    async (queueRefusedInValidation) => {
      // Two lines may be enqueued at once: the second job is refused until the first has ended, then created.
      env.sim.setKnobs({ openaiBatch: { ...QUIET, jobMs: 1000, queueLimit: 2, queueRefusedInValidation } });
      const items = makeItems(4, 'queue');
      const { handle } = await start(batchId('queue'), items, settings({ maxLines: 2 }));
      expect(await handle.result()).toMatchObject({ succeeded: 4, failed: 0 });
      const jobs = await jobsOf(env.sim);
      expect(jobs.refusedCreates).toBeGreaterThan(0);
      expect(jobs.jobs.filter((j) => j.status === 'completed').map((j) => j.lines)).toEqual([2, 2]);
      expect(Object.values(jobs.linesByPrompt)).toEqual([1, 1, 1, 1]);
    },
  );

  it('cancel while a job waits for the enqueued limit: that job is never created, its items end cancelled', async () => {
    // Room for one job of two lines: the second waits (queued) behind a job that would run for ten minutes.
    env.sim.setKnobs({ openaiBatch: { ...QUIET, jobMs: 600_000, validatingShare: 0, queueLimit: 2 } });
    const { handle, outDir } = await start(batchId('cancel-q'), makeItems(4, 'fjord'), settings({ maxLines: 2 }));
    await waitFor(async () => {
      const p = await handle.query(progressQuery);
      return p.batchJobs?.some((j) => j.status === 'queued') && p.batchJobs.some((j) => j.status === 'in_progress');
    }, 'one job in progress, one queued');
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow();
    await waitFor(() => readManifest(outDir).items.every((e) => e.status === 'cancelled'), 'the items cancelled');
    const made = (await jobsOf(env.sim)).jobs.filter((j) => !j.refused);
    expect(made).toEqual([expect.objectContaining({ lines: 2, status: 'cancelled' })]);
  });

  it('cancel mid-job: the job is cancelled at OpenAI and its items end cancelled; status shows the job', async () => {
    env.sim.setKnobs({ openaiBatch: { ...QUIET, jobMs: 600_000, validatingShare: 0 } });
    const { handle, outDir } = await start(batchId('cancel'), makeItems(3, 'moor'), settings());
    const progress = await waitFor(async () => {
      const p = await handle.query(progressQuery);
      return p.batchJobs?.some((j) => j.status === 'in_progress') ? p : undefined;
    }, 'the job in progress');
    expect(progress.batchJobs).toEqual([expect.objectContaining({ lines: 3, status: 'in_progress' })]);
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow();
    await waitFor(async () => (await jobsOf(env.sim)).jobs[0]?.status === 'cancelled', 'the job cancelled');
    await waitFor(() => readManifest(outDir).items.every((e) => e.status === 'cancelled'), 'the items cancelled');
  });
});

// The Batch API client against the simulator's Files and Batches endpoints over loopback: a JSONL file uploaded, a
// job created, found again by its key, polled, cancelled, and its result files read line by line and classified.
import { describe, expect, it, beforeEach } from 'vitest';
import { PNG } from 'pngjs';
import { type BatchJob, JOB_KEY, OpenaiBatchClient } from '../../src/providers/openai/batch-client';
import { refusedForQueue } from '../../src/shared/batch-api';
import { batchFileText, type BatchLine } from '../../src/providers/openai/batch-lines';
import type { BatchLineResult } from '../../src/providers/openai/batch-results';
import { useSimulator } from './simulator-fixture';

const sim = useSimulator();
const client = () => new OpenaiBatchClient({ baseUrl: `${sim().url}/v1`, apiKey: 'sk-openai-simulator' });
const QUIET_BATCH = {
  jobMs: 300,
  validatingShare: 0.1,
  expireAfterMs: 0,
  rateLimitFirst: 0,
  queueLimit: 0,
  shuffle: true,
};

const lines = (...prompts: string[]): BatchLine[] =>
  prompts.map((prompt, i) => ({ customId: `L${i}_item-${i}`, request: { prompt, width: 1024, height: 1024 } }));

async function submit(ls: BatchLine[], key = 'k1'): Promise<BatchJob> {
  const c = client();
  const file = await c.upload(`${key}.jsonl`, batchFileText(ls));
  return c.create(file.id, { [JOB_KEY]: key });
}

async function ended(id: string): Promise<BatchJob> {
  let job: BatchJob | undefined;
  await expect
    .poll(async () => (job = await client().get(id)).status, { timeout: 10_000, interval: 50 })
    .toMatch(/^(completed|failed|expired|cancelled)$/);
  return job!;
}

async function collect(job: BatchJob): Promise<BatchLineResult[]> {
  const out: BatchLineResult[] = [];
  for (const id of [job.outputFileId, job.errorFileId]) if (id) for await (const r of client().results(id)) out.push(r);
  return out;
}

describe('openai batch client', () => {
  beforeEach(() => {
    sim().setKnobs({ openaiBatch: QUIET_BATCH });
  });

  it('runs a file to completed: every line answered once, matched by custom_id whatever the order', async () => {
    const prompts = Array.from({ length: 12 }, (_, i) => `a harbour at dawn ${i}`);
    const job = await submit([...lines(...prompts), { customId: 'L12_blocked', request: { prompt: 'a gore scene' } }]);
    expect(job.status).toBe('validating');
    const done = await ended(job.id);
    expect(done).toMatchObject({ status: 'completed', counts: { total: 13, completed: 12, failed: 1 } });
    const results = await collect(done);
    const images = results.filter((r) => 'image' in r).map((r) => r.customId);
    expect(new Set(images)).toEqual(new Set(prompts.map((_, i) => `L${i}_item-${i}`)));
    // Shuffled: not in input order (the simulator's seeded draw), which is why nothing may match by position.
    expect(images).not.toEqual(
      [...images].sort((a, b) => Number(a.split('_')[0].slice(1)) - Number(b.split('_')[0].slice(1))),
    );
    const first = results.find((r) => 'image' in r)!;
    const png = PNG.sync.read(Buffer.from((first as { image: { base64: string } }).image.base64, 'base64'));
    expect(png.width).toBe(128);
    const blocked = results.find((r) => r.customId === 'L12_blocked')!;
    expect(blocked).toMatchObject({ failure: { type: 'ContentRejected', details: { code: 'moderation_blocked' } } });
  });

  it('classifies a rate-limited line as RateLimited (it goes again), not a failure of the item', async () => {
    sim().setKnobs({ openaiBatch: { ...QUIET_BATCH, rateLimitFirst: 1 } });
    const done = await ended((await submit(lines('a fox'))).id);
    const [r] = await collect(done);
    expect(r).toMatchObject({ customId: 'L0_item-0', failure: { type: 'RateLimited' } });
  });

  it('finds the file and the job an earlier attempt made, by name and metadata key', async () => {
    const c = client();
    const file = await c.upload('batch-x_job-1.jsonl', batchFileText(lines('a', 'b')));
    await c.upload('batch-x_job-2.jsonl', batchFileText(lines('c')));
    expect((await c.findFile('batch-x_job-1.jsonl'))?.id).toBe(file.id);
    expect(await c.findFile('batch-x_job-3.jsonl')).toBeUndefined();
    const job = await c.create(file.id, { [JOB_KEY]: 'batch-x/job-1' });
    await c.create((await c.findFile('batch-x_job-2.jsonl'))!.id, { [JOB_KEY]: 'batch-x/job-2' });
    expect((await c.findJob('batch-x/job-1', file.createdAt))?.id).toBe(job.id);
    expect(await c.findJob('batch-x/job-9', file.createdAt)).toBeUndefined();
  });

  it('expires with partial results: finished lines in the output, the rest dropped as expired', async () => {
    sim().setKnobs({ openaiBatch: { ...QUIET_BATCH, jobMs: 2000, validatingShare: 0, expireAfterMs: 1000 } });
    const done = await ended((await submit(lines('p0', 'p1', 'p2', 'p3'))).id);
    expect(done.status).toBe('expired');
    const results = await collect(done);
    expect(
      results
        .filter((r) => 'image' in r)
        .map((r) => r.customId)
        .sort(),
    ).toEqual(['L0_item-0', 'L1_item-1']);
    expect(
      results
        .filter((r) => 'dropped' in r)
        .map((r) => r.customId)
        .sort(),
    ).toEqual(['L2_item-2', 'L3_item-3']);
    expect(results.every((r) => !('dropped' in r) || r.dropped === 'expired')).toBe(true);
  });

  it('cancels mid-job: cancelling, then cancelled with the lines already run in the output', async () => {
    sim().setKnobs({ openaiBatch: { ...QUIET_BATCH, jobMs: 60_000, validatingShare: 0 } });
    const job = await submit(lines('p0', 'p1'));
    expect((await client().cancel(job.id)).status).toBe('cancelling');
    const done = await ended(job.id);
    expect(done.status).toBe('cancelled');
    const results = await collect(done);
    expect(results.map((r) => ('dropped' in r ? r.dropped : 'ran'))).toEqual(['cancelled', 'cancelled']);
  });

  it('a full queue fails the create at once (refusedForQueue), and findJob does not take that job for the key', async () => {
    sim().setKnobs({ openaiBatch: { ...QUIET_BATCH, jobMs: 60_000, queueLimit: 2 } });
    await submit(lines('a'), 'first');
    const refused = await submit(lines('b', 'c'), 'second');
    expect(refusedForQueue(refused)).toBe(true);
    expect(await client().findJob('second', 0)).toBeUndefined();
    const stats = (await (await fetch(`${sim().url}/__openai-batches`)).json()) as { linesByPrompt: object };
    expect(stats.linesByPrompt).toEqual({ a: 1 });
  });

  it('keeps the file limits: one model per file, the line cap, custom_id at most 64 characters', () => {
    const two = [...lines('a'), { customId: 'x', request: { prompt: 'b', model: 'gpt-image-1-mini' } }];
    expect(() => batchFileText(two)).toThrow(/one model per batch file/);
    expect(() => batchFileText(lines('a', 'b', 'c'), { lines: 2, bytes: 1e6 })).toThrow(/at most 2/);
    expect(() => batchFileText([{ customId: 'x'.repeat(65), request: { prompt: 'a' } }])).toThrow(/64/);
  });

  it('refuses a wrong key with 401 as AuthFailed', async () => {
    const bad = new OpenaiBatchClient({ baseUrl: `${sim().url}/v1`, apiKey: 'sk-wrong' });
    await expect(bad.get('batch_x')).rejects.toMatchObject({ type: 'AuthFailed' });
  });
});

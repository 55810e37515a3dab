// batchWorkflow on the real dev server with the provider simulator.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import {
  cancelSignal,
  pauseSignal,
  progressQuery,
  resumeSignal,
  retrySignal,
  setConcurrencySignal,
} from '../../src/shared/messages';
import type { BatchProgress } from '../../src/shared/batch-types';
import type { ImageItem } from '../../src/shared/types';
import { FAST_POLICY, type ImageEnv, startImageEnv, waitFor } from '../helpers/image-env';
import { closeConnections } from '../helpers/temporal';
import {
  childOutcomes,
  childrenOf,
  makeItems,
  readManifest,
  startTestBatch,
  type TestBatchOptions,
} from '../helpers/batch';
import { maybeRecordHistory } from '../helpers/histories';
import { knobsFrom } from '../helpers/simulator-knobs';

let env: ImageEnv;
let n = 0;
const BASE = { latencyMs: 200, moderationWords: ['doomed'], expireFirst: 0 };

beforeAll(async () => {
  env = await startImageEnv(BASE);
});
afterAll(async () => {
  await env.stop();
  await closeConnections();
});
beforeEach(() => {
  env.sim.setKnobs(knobsFrom(BASE));
  env.sim.reset();
});

const startBatch = (list: ImageItem[], o: TestBatchOptions = {}) =>
  startTestBatch(env, `b${++n}-${env.taskQueue.slice(-8)}`, list, o);

const progress = (h: { query: (q: typeof progressQuery) => Promise<BatchProgress> }) => h.query(progressQuery);

describe('batchWorkflow', () => {
  it('keeps the provider at the concurrency cap, never above, and writes every image and the manifest', async () => {
    // Long enough that five tasks are at the provider together, however busy the machine is.
    env.sim.setKnobs({ latencyMs: 1000 });
    const { handle, input } = await startBatch(makeItems(24, 'cap'), { concurrency: 5 });
    const summary = await handle.result();
    expect(summary).toMatchObject({ total: 24, succeeded: 24, failed: 0, cancelled: 0, status: 'completed' });
    expect(env.sim.stats().maxInFlight).toBe(5);
    const m = readManifest(input.outDir);
    expect(m.items).toHaveLength(24);
    for (const e of m.items) {
      expect(e.status).toBe('succeeded');
      const data = fs.readFileSync(path.join(input.outDir, e.file!));
      expect(createHash('sha256').update(data).digest('hex')).toBe(e.sha256);
    }
    expect(Object.values(env.sim.stats().submissionsByPrompt).every((c) => c === 1)).toBe(true);
    await maybeRecordHistory(handle, 'batch-small');
  });

  it('takes setConcurrency up and down mid-batch', async () => {
    env.sim.setKnobs({ latencyMs: 1500 });
    const { handle } = await startBatch(makeItems(16, 'conc'), { concurrency: 2 });
    await waitFor(() => env.sim.stats().submissions >= 2, 'the first submissions');
    expect(env.sim.stats().maxInFlight).toBeLessThanOrEqual(2);
    await handle.signal(setConcurrencySignal, 6);
    await waitFor(async () => (await progress(handle)).running === 6, 'six in flight');
    await handle.signal(setConcurrencySignal, 1);
    expect((await progress(handle)).concurrency).toBe(1);
    await waitFor(async () => (await progress(handle)).running === 1, 'one in flight');
    const before = env.sim.stats().maxInFlight;
    const summary = await handle.result();
    expect(summary.succeeded).toBe(16);
    expect(before).toBe(6);
    expect(env.sim.stats().maxInFlight).toBe(6);
  });

  it('pauses (in-flight ones finish, no new ones start) and resumes', async () => {
    env.sim.setKnobs({ latencyMs: 500 });
    const { handle } = await startBatch(makeItems(10, 'pause'), { concurrency: 2 });
    await waitFor(() => env.sim.stats().submissions >= 1, 'a submission');
    await handle.signal(pauseSignal);
    const paused = await waitFor(async () => {
      const p = await progress(handle);
      return p.paused && p.running === 0 ? p : undefined;
    }, 'in-flight items to finish');
    expect(paused.queued).toBeGreaterThan(0);
    expect(env.sim.stats().submissions).toBe(paused.succeeded);
    // A query answered after another workflow task: still nothing new started.
    await handle.signal(setConcurrencySignal, 3);
    const still = await progress(handle);
    expect(still.running).toBe(0);
    expect(env.sim.stats().submissions).toBe(paused.succeeded);
    await handle.signal(resumeSignal);
    expect((await handle.result()).succeeded).toBe(10);
  });

  it('cancels one running item and one queued item', async () => {
    env.sim.setKnobs({ latencyMs: 1500 });
    const list = makeItems(6, 'cancel-some');
    const { handle, input } = await startBatch(list, { concurrency: 2 });
    await waitFor(() => env.sim.stats().submissionsByPrompt[list[0].prompt], 'item 1 submitted');
    await handle.signal(cancelSignal, { itemIds: ['cancel-some-1', 'cancel-some-6'] });
    const summary = await handle.result();
    expect(summary).toMatchObject({ succeeded: 4, cancelled: 2, failed: 0 });
    expect(env.sim.stats().submissionsByPrompt[list[5].prompt]).toBeUndefined();
    expect(env.sim.stats().cancels).toBe(1);
    const m = readManifest(input.outDir);
    expect(m.items.find((e) => e.id === 'cancel-some-1')?.status).toBe('cancelled');
    expect(m.items.find((e) => e.id === 'cancel-some-6')?.status).toBe('cancelled');
  });

  it('cancels the whole batch by signal: in-flight children cancelled, nothing new submitted', async () => {
    env.sim.setKnobs({ latencyMs: 60_000 });
    const { handle, input } = await startBatch(makeItems(10, 'cancel-all'), { concurrency: 3 });
    await waitFor(() => env.sim.stats().submissions === 3, 'three submissions');
    await handle.signal(cancelSignal, {});
    const summary = await handle.result();
    expect(summary).toMatchObject({ status: 'cancelled', succeeded: 0, cancelled: 10 });
    expect(env.sim.stats()).toMatchObject({ submissions: 3, cancels: 3, inFlight: 0 });
    expect(readManifest(input.outDir).items.map((e) => e.status)).toEqual(Array(10).fill('cancelled'));
    const wf = `batch-${input.batchId}`;
    expect(await childOutcomes(env.client, wf)).toEqual({
      [`${wf}/cancel-all-1`]: 'CANCELLED',
      [`${wf}/cancel-all-2`]: 'CANCELLED',
      [`${wf}/cancel-all-3`]: 'CANCELLED',
    });
  });

  it('ends as cancelled when the workflow itself is cancelled, cancelling its children', async () => {
    env.sim.setKnobs({ latencyMs: 60_000 });
    const { handle, input } = await startBatch(makeItems(5, 'wf-cancel'), { concurrency: 2 });
    await waitFor(() => env.sim.stats().submissions === 2, 'two submissions');
    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(env.sim.stats()).toMatchObject({ submissions: 2, cancels: 2 });
    expect(readManifest(input.outDir).counts.cancelled).toBe(5);
  });

  it('settles an item whose child was terminated by hand instead of waiting for it for ever', async () => {
    env.sim.setKnobs({ latencyMs: 60_000 });
    const list = makeItems(3, 'terminated');
    const { handle, input } = await startBatch(list, { concurrency: 3 });
    await waitFor(() => env.sim.stats().submissions === 3, 'three submissions');
    const wf = `batch-${input.batchId}`;
    await env.client.workflow.getHandle(`${wf}/terminated-2`).terminate('by hand');
    await handle.signal(cancelSignal, { itemIds: ['terminated-1', 'terminated-3'] });
    const summary = await handle.result();
    expect(summary).toMatchObject({ status: 'completed', succeeded: 0, failed: 1, cancelled: 2 });
    const lost = readManifest(input.outDir).items.find((e) => e.id === 'terminated-2');
    expect(lost).toMatchObject({ status: 'failed', errorType: 'ChildClosed' });
    expect(lost?.error).toContain('terminated');
    await maybeRecordHistory(handle, 'batch-child-closed');
  });

  it('retries failed items once the provider stops failing them', async () => {
    const list = [
      ...makeItems(3, 'doomed', () => ({ policy: { simplifications: 0 } })),
      // Named like the first retry of doomed-1 used to be, and still running then: its child must not be taken for
      // that retry (the batch waited for ever).
      { id: 'doomed-1-r1', prompt: 'a calm lake', policy: { expectedLatencyMs: 120_000 } },
      // One slow item keeps the batch running while the others fail and are retried.
      { id: 'keeper', prompt: 'the keeper', policy: { expectedLatencyMs: 120_000 } },
    ];
    const { handle, input } = await startBatch(list, { concurrency: 5 });
    await waitFor(async () => (await progress(handle)).failed === 3, 'three failures');
    expect((await progress(handle)).recentFailures[0].error).toMatch(/moderation/);
    env.sim.setKnobs({ moderationWords: [] });
    await handle.signal(retrySignal, {});
    await waitFor(async () => (await progress(handle)).succeeded === 3, 'the retried items to succeed');
    await handle.signal(cancelSignal, { itemIds: ['keeper', 'doomed-1-r1'] });
    const summary = await handle.result();
    expect(summary).toMatchObject({ succeeded: 3, failed: 0, cancelled: 2 });
    const m = readManifest(input.outDir);
    expect(m.items.filter((e) => e.status === 'succeeded').map((e) => e.id)).toEqual([
      'doomed-1',
      'doomed-2',
      'doomed-3',
    ]);
    const children = await childrenOf(env.client, `batch-${input.batchId}`);
    const wf = `batch-${input.batchId}`;
    expect(children).toEqual(expect.arrayContaining([`${wf}/doomed-1`, `${wf}/doomed-1/r1`, `${wf}/doomed-1-r1`]));
  });

  it('continues as new over a few hundred items paged from a file, losing and repeating nothing', async () => {
    env.sim.setKnobs({ latencyMs: 0 });
    const list = makeItems(300, 'can');
    const fileDir = path.join(env.outDir, 'items');
    fs.mkdirSync(fileDir, { recursive: true });
    const file = path.join(fileDir, 'can.jsonl');
    const text = list.map((i) => JSON.stringify(i)).join('\n') + '\n';
    fs.writeFileSync(file, text);
    const sha256 = createHash('sha256').update(text).digest('hex');
    const { handle, input } = await startBatch([], {
      items: { kind: 'file', path: file, sha256, count: 300, pageSize: 40 },
      concurrency: 20,
      continueAsNewAfterEvents: 500,
      policy: { ...FAST_POLICY, expectedLatencyMs: 50, pollIntervalMs: 100 },
    });
    const summary = await handle.result();
    expect(summary).toMatchObject({ total: 300, succeeded: 300, failed: 0, cancelled: 0 });
    const stats = env.sim.stats();
    expect(stats.submissions).toBe(300);
    expect(Object.values(stats.submissionsByPrompt).every((c) => c === 1)).toBe(true);
    expect(readManifest(input.outDir).items.filter((e) => e.status === 'succeeded')).toHaveLength(300);
    // The last run continued from an earlier one (histories, unlike list queries, are strongly consistent).
    const history = await handle.fetchHistory();
    expect(history.events![0].workflowExecutionStartedEventAttributes?.continuedExecutionRunId).toBeTruthy();
    console.log(`batch of 300: last run ${history.events!.length} events`);
    // 300 images through one account on two busy cores: a minute alone, more beside other test files.
  }, 300_000);
});

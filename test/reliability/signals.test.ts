// Signals at bad moments: cancel while the batch continues-as-new, retry of an item that is still running, a child
// terminated by hand after the run that started it continued as new.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelSignal, progressQuery, retrySignal } from '../../src/shared/messages';
import type { ImageItem } from '../../src/shared/types';
import { type ImageEnv, startImageEnv, waitFor } from '../helpers/image-env';
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

let env: ImageEnv;
let n = 0;
beforeAll(async () => {
  env = await startImageEnv({ latencyMs: 300 });
});
afterAll(async () => {
  await env.stop();
  await closeConnections();
});

const start = (items: ImageItem[], o: TestBatchOptions = {}) =>
  startTestBatch(env, `sig-${++n}-${process.pid}`, items, { concurrency: 5, ...o });

/** The children that did not end as completed or cancelled (waiting for each to close). */
async function leftOver(batchId: string): Promise<string[]> {
  const outcomes = await childOutcomes(env.client, `batch-${batchId}`);
  return Object.keys(outcomes).filter((id) => !['COMPLETED', 'CANCELLED'].includes(outcomes[id]));
}

describe('signals at bad moments', () => {
  it('cancel while the batch continues as new: every run honours it, no child is left running', async () => {
    const { handle, batchId, outDir } = await start(makeItems(80, 'can-cancel'), { continueAsNewAfterEvents: 60 });
    await waitFor(async () => (await handle.query(progressQuery)).runs >= 3, 'a few continue-as-new runs', 60_000);
    await handle.signal(cancelSignal, {});
    const summary = await handle.result();
    expect(summary.status).toBe('cancelled');
    expect(summary.succeeded + summary.cancelled).toBe(80);
    expect(summary.cancelled).toBeGreaterThan(0);
    expect(await leftOver(batchId)).toEqual([]);
    expect(readManifest(outDir).items).toHaveLength(80);
  });

  it('a child an earlier run started, terminated by hand: a later run settles it as failed', async () => {
    const items: ImageItem[] = [
      { id: 'slow', prompt: 'a slow one', policy: { expectedLatencyMs: 300_000, maxWaitMs: 600_000 } },
      ...makeItems(30, 'around'),
    ];
    const { handle, batchId, outDir } = await start(items, { continueAsNewAfterEvents: 60, childCheckIntervalMs: 500 });
    await waitFor(async () => (await handle.query(progressQuery)).runs >= 2, 'a continue-as-new run', 60_000);
    await env.client.workflow.getHandle(`batch-${batchId}/slow`).terminate('by hand');
    const summary = await handle.result();
    expect(summary).toMatchObject({ status: 'completed', succeeded: 30, failed: 1 });
    const slow = readManifest(outDir).items.find((e) => e.id === 'slow');
    expect(slow).toMatchObject({ status: 'failed', errorType: 'ChildClosed' });
    expect(slow?.error).toContain('terminated');
    // The run that settled it: the last one, or an earlier one if the batch continued as new after that.
    await maybeRecordHistory(handle, 'batch-inherited-closed');
  });

  it('retry of an item that is still running is ignored: no second child, one image', async () => {
    const items: ImageItem[] = [
      { id: 'slow', prompt: 'a slow one', policy: { expectedLatencyMs: 120_000 } },
      { id: 'quick', prompt: 'a quick one' },
    ];
    const { handle, batchId } = await start(items);
    await waitFor(async () => (await handle.query(progressQuery)).succeeded === 1, 'the quick item');
    await handle.signal(retrySignal, { itemIds: ['slow', 'quick'] });
    const p = await handle.query(progressQuery);
    expect(p).toMatchObject({ inFlight: ['slow'], running: 1, succeeded: 1, queued: 0 });
    await handle.signal(cancelSignal, { itemIds: ['slow'] });
    expect(await handle.result()).toMatchObject({ succeeded: 1, cancelled: 1, failed: 0 });
    await maybeRecordHistory(handle, 'batch-signals');
    expect((await childrenOf(env.client, `batch-${batchId}`)).sort()).toEqual(
      [`batch-${batchId}/quick`, `batch-${batchId}/slow`].sort(),
    );
  });
});

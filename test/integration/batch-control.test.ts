// Control by Update on a real server: each request answers with what it did, or is refused with the reason and
// changes nothing; a batch whose items are paged looks the named items up before it answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { itemsSourceFor } from '../../src/output/items-copy';
import {
  cancelUpdate,
  pauseUpdate,
  progressQuery,
  resumeUpdate,
  retryUpdate,
  setConcurrencyUpdate,
} from '../../src/shared/messages';
import { makeItems, readManifest, startTestBatch } from '../helpers/batch';
import { readManifest as readManifestFile } from '../../src/output/manifest';
import { maybeRecordHistory } from '../helpers/histories';
import { type ImageEnv, startImageEnv, waitFor } from '../helpers/image-env';
import { closeConnections } from '../helpers/temporal';

let env: ImageEnv;
beforeAll(async () => {
  env = await startImageEnv({ latencyMs: 50 });
});
afterAll(async () => {
  await env.stop();
  await closeConnections();
});

/** The reason a refused Update gives. */
async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  return (err as WorkflowUpdateFailedError).cause?.message ?? '';
}

/** The manifest a batch writes when it stops at its budget, once it is there. */
const readManifestIfStopped = (outDir: string) => {
  const m = readManifestFile(outDir);
  return m?.stopped ? m : undefined;
};

/** An item that stays running for two minutes (its first poll waits that long), unless cancelled. */
const SLOW = { id: 'slow', prompt: 'a slow one', policy: { expectedLatencyMs: 120_000 } };

describe('batch control by Update', () => {
  it('answers what it did and refuses what it cannot do', async () => {
    const items = [SLOW, ...makeItems(2, 'ctl')];
    const { handle, outDir } = await startTestBatch(env, `ctl-${process.pid}`, items, { concurrency: 1 });
    await waitFor(async () => (await handle.query(progressQuery)).inFlight.includes('slow'), 'slow to run');

    expect(await handle.executeUpdate(setConcurrencyUpdate, { args: [1] })).toEqual({
      message: 'concurrency 1 -> 1',
    });
    expect(await refusal(handle.executeUpdate(setConcurrencyUpdate, { args: [0] }))).toMatch(/from 1 to 2000/);
    expect(await refusal(handle.executeUpdate(retryUpdate, { args: [{ itemIds: ['slow'] }] }))).toBe(
      "item 'slow' is running",
    );
    expect(await refusal(handle.executeUpdate(retryUpdate, { args: [{}] }))).toBe(
      'no failed or cancelled items to retry',
    );
    expect(await refusal(handle.executeUpdate(cancelUpdate, { args: [{ itemIds: ['nosuch'] }] }))).toBe(
      "item 'nosuch' is not in this batch",
    );
    expect((await handle.executeUpdate(pauseUpdate)).message).toMatch(/^paused/);
    expect(await refusal(handle.executeUpdate(pauseUpdate))).toBe('the batch is already paused');
    expect(await handle.executeUpdate(resumeUpdate, { args: [{}] })).toEqual({ message: 'resumed' });
    // Nothing refused above changed the batch: slow still runs, the others still wait.
    expect(await handle.query(progressQuery)).toMatchObject({ inFlight: ['slow'], queued: 2, concurrency: 1 });

    expect(await handle.executeUpdate(cancelUpdate, { args: [{ itemIds: ['slow'] }] })).toEqual({
      message: 'cancelling 1 item: slow',
      itemIds: ['slow'],
    });
    const summary = await handle.result();
    expect(summary).toMatchObject({ status: 'completed', succeeded: 2, cancelled: 1 });
    expect(readManifest(outDir).items.find((e) => e.id === 'slow')?.status).toBe('cancelled');
    await maybeRecordHistory(handle, 'batch-updates');
  });

  it('looks up the items of a paged batch before it answers', async () => {
    // Long prompts put the items over the inline limit: they are read from the items copy by an activity.
    const items = [SLOW, ...makeItems(120, 'paged', () => ({ prompt: `a long prompt ${'x'.repeat(2500)}` }))];
    const batchId = `ctl-paged-${process.pid}`;
    const { handle } = await startTestBatch(env, batchId, [], {
      concurrency: 1,
      items: itemsSourceFor(items, `${env.outDir}/${batchId}`),
    });
    expect((await handle.describe()).status.name).toBe('RUNNING');
    await waitFor(async () => (await handle.query(progressQuery)).inFlight.includes('slow'), 'slow to run');

    expect(await refusal(handle.executeUpdate(cancelUpdate, { args: [{ itemIds: ['nosuch', 'paged-7'] }] }))).toBe(
      "item 'nosuch' is not in this batch",
    );
    expect((await handle.executeUpdate(cancelUpdate, { args: [{ itemIds: ['paged-7'] }] })).message).toBe(
      'cancelling 1 item: paged-7',
    );
    const answer = await handle.executeUpdate(cancelUpdate, { args: [{}] });
    expect(answer.message).toBe('cancelling the batch: 1 running item cancelled, 120 queued items will not start');
    expect(await handle.result()).toMatchObject({ status: 'cancelled', total: 121, cancelled: 121, succeeded: 0 });
  });

  it('stops at the submission budget with the rest queued, and continues when it is raised', async () => {
    // "bloody" is rejected by moderation once its task ran (a paid task): the rewrite is a second submission.
    env.sim.reset();
    await env.sim.setKnobs({ moderationWords: ['bloody'], moderationAt: 'result' });
    const items = [{ id: 'u', prompt: 'a bloody battlefield at sunset' }, ...makeItems(4, 'budget')];
    const { handle, outDir } = await startTestBatch(env, `budget-${process.pid}`, items, {
      concurrency: 2,
      maxSubmissions: 4,
    });
    const stopped = await waitFor(async () => {
      const p = await handle.query(progressQuery);
      return p.stopped && p.running === 0 ? p : undefined;
    }, 'the batch to stop at its budget');
    expect(stopped.stopped).toMatch(/^the budget of 4 submissions is spent/);
    expect(stopped.budget).toEqual({ max: 4, used: 4, reserved: 0 });
    expect(env.sim.stats().submissions).toBe(4);
    const m = await waitFor(() => readManifestIfStopped(outDir), 'the manifest of the stopped batch');
    expect(m.items.filter((e) => e.status === 'queued').length).toBeGreaterThan(0);
    for (const e of m.items.filter((x) => x.status === 'queued')) expect(e.error).toMatch(/budget of 4/);

    expect(await refusal(handle.executeUpdate(resumeUpdate, { args: [{ maxSubmissions: 4 }] }))).toMatch(/above the 4/);
    expect(await handle.executeUpdate(resumeUpdate, { args: [{ maxSubmissions: 20 }] })).toEqual({
      message: 'resumed; budget 4 -> 20 submissions',
    });
    expect(await handle.result()).toMatchObject({ succeeded: 5, failed: 0, cancelled: 0 });
    expect(env.sim.stats().submissions).toBe(6);
    expect(readManifest(outDir).stopped).toBeUndefined();
  });
});

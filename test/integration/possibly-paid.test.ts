// A submit answered 5xx may have been taken by the provider's gateway all the same (fal takes no idempotency key):
// the submit that makes the task on its Nth attempt counts N submissions against the item's budget share, so the
// budget counts what may have been paid, not only what is known to be.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { progressQuery } from '../../src/shared/messages';
import { makeItems, readManifest, startTestBatch } from '../helpers/batch';
import { type ImageEnv, startImageEnv, waitFor } from '../helpers/image-env';
import { closeConnections } from '../helpers/temporal';

let env: ImageEnv;

beforeAll(async () => {
  env = await startImageEnv({ latencyMs: 200, fail5xx: 1, faultsOn: 'submit' });
});
afterAll(async () => {
  await env.stop();
  await closeConnections();
});

describe('a submit that succeeded after 5xx answers', () => {
  it("counts every attempt against the item's budget share and the batch's", async () => {
    const batchId = `paid-${process.pid}`;
    const items = makeItems(1, batchId);
    const target = { client: env.client, taskQueue: env.taskQueue, outDir: env.outDir };
    const { handle, outDir } = await startTestBatch(target, batchId, items, { provider: 'fal', maxSubmissions: 10 });

    // Two submits answered 500, then the gateway takes the next one.
    await waitFor(() => (env.sim.stats().byProvider.fal?.requestsByOutcome['5xx'] ?? 0) >= 2, 'two 5xx answers');
    env.sim.setKnobs({ fail5xx: 0 });
    expect(await handle.result()).toMatchObject({ total: 1, succeeded: 1 });

    const answered5xx = env.sim.stats().byProvider.fal.requestsByOutcome['5xx'];
    expect(answered5xx).toBeGreaterThanOrEqual(2);
    expect(env.sim.stats().submissionsByPrompt[items[0].prompt]).toBe(1);
    const [entry] = readManifest(outDir).items;
    expect(entry).toMatchObject({ status: 'succeeded', tasks: answered5xx + 1, attempts: answered5xx + 1 });
    expect((await handle.query(progressQuery)).budget).toMatchObject({ max: 10, used: answered5xx + 1, reserved: 0 });
  });
});

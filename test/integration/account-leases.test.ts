// Leases of an account's slots on a real server: a batch holds slots of its account and hands them to its own images.
// What must hold however the lease moves: a batch that continues-as-new keeps its lease, a second batch takes slots
// back to its share without a throttle, an account terminated by hand is opened again and adopts the slots in use,
// and a cancelled batch's slots come back as it ends.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { accountOf } from '../../src/providers/account';
import { providersFromEnv } from '../../src/providers';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import { accountStateQuery } from '../../src/shared/accounts';
import { createWorker } from '../../src/worker';
import { type BatchTarget, makeItems, startTestBatch } from '../helpers/batch';
import { waitFor } from '../helpers/image-env';
import { maybeRecordHistory } from '../helpers/histories';
import { workflowBundle } from '../helpers/bundle';
import { closeConnections, nativeConnection, testClient, uniqueQueue } from '../helpers/temporal';

interface LeaseEnv extends BatchTarget {
  sim: ProviderSimulator;
  accountId: string;
  stop(): Promise<void>;
}

let current: LeaseEnv | undefined;

/**
 * A simulator that refuses more than `limit` tasks in flight, and a worker whose accounts start with that limit set.
 * `checkMs`: how often the account looks for holders that are gone (and batches tell it their leases).
 */
async function leaseEnv(limit: number, latencyMs: number, checkMs: number): Promise<LeaseEnv> {
  const sim = await startSimulator({ latencyMs, concurrencyLimit: limit });
  const providers = providersFromEnv(sim.env());
  const taskQueue = uniqueQueue('lease');
  const worker = await createWorker({
    connection: await nativeConnection(),
    taskQueue,
    providers,
    accountLimits: { volcengine: limit },
    accountHolderCheckMs: checkMs,
    workflowBundle: await workflowBundle(),
  });
  const running = worker.run();
  current = {
    sim,
    client: await testClient(),
    taskQueue,
    outDir: fs.mkdtempSync(path.join(os.tmpdir(), 'ib-lease-')),
    accountId: accountOf('volcengine', providers, taskQueue).workflowId,
    async stop() {
      worker.shutdown();
      await running;
      await sim.close();
    },
  };
  return current;
}

const accountState = (env: LeaseEnv) =>
  env.client.workflow
    .getHandle(env.accountId)
    .query(accountStateQuery)
    .catch(() => undefined);
const submitted = (env: LeaseEnv, prefix: string) =>
  Object.keys(env.sim.stats().submissionsByPrompt).filter((p) => p.startsWith(`${prefix} `)).length;
const throttles = (env: LeaseEnv) => env.sim.stats().requestsByOutcome['concurrency-limited'] ?? 0;

afterEach(async () => {
  await current?.stop();
  current = undefined;
});
beforeAll(async () => {
  await workflowBundle();
});
afterAll(async () => {
  await closeConnections();
});

describe('leases of an account', () => {
  it('a batch that continues-as-new while it holds a lease keeps it: every item ends, within the limit', async () => {
    const env = await leaseEnv(2, 300, 60_000);
    const id = `can-${process.pid}`;
    const { handle } = await startTestBatch(env, id, makeItems(10, 'can'), {
      concurrency: 4,
      continueAsNewAfterEvents: 30,
    });
    expect(await handle.result()).toMatchObject({ succeeded: 10, failed: 0 });
    // It did continue while its images held slots (the first run cannot have started and ended 10 images in 30 events).
    expect((await handle.describe()).runId).not.toBe(handle.firstExecutionRunId);
    expect(env.sim.stats().maxInFlight).toBe(2);
    expect(throttles(env)).toBe(0);
    expect(await accountState(env)).toMatchObject({ inFlight: 0, waiting: 0 });
    // The lease's histories for the replay tests: the batch's last run (its lease carried), an image, the account.
    await maybeRecordHistory(handle, 'batch-leased');
    await maybeRecordHistory(env.client.workflow.getHandle(`batch-${id}/can-10`), 'image-leased');
    await maybeRecordHistory(env.client.workflow.getHandle(env.accountId), 'account-leased');
  });

  it("a second batch takes slots back to its share: the first one's in flight drops to 2 of 4, no throttle", async () => {
    // Tasks are held (ten minutes) and released round by round, so who holds which slot is certain.
    const env = await leaseEnv(4, 600_000, 60_000);
    const first = await startTestBatch(env, `first-${process.pid}`, makeItems(20, 'first'), { concurrency: 4 });
    await waitFor(() => submitted(env, 'first') === 4, 'the first batch to hold all 4 slots');
    const second = await startTestBatch(env, `second-${process.pid}`, makeItems(8, 'second'), { concurrency: 4 });
    await waitFor(
      async () => (await accountState(env))?.leases?.[`batch-first-${process.pid}`]?.cap === 2,
      'the first lease capped at its share',
    );
    // The first batch's four tasks end: two of its slots go back (to the second batch), two to its next images.
    env.sim.finishNow();
    await waitFor(() => env.sim.stats().submissions === 8, 'the next four submissions');
    expect([submitted(env, 'first'), submitted(env, 'second')]).toEqual([6, 2]);
    expect(env.sim.stats().inFlight).toBe(4);
    expect(throttles(env)).toBe(0);
    for (const b of [first, second]) await b.handle.cancel();
    await Promise.all([first, second].map((b) => b.handle.result().catch(() => undefined)));
  });

  it('an account terminated by hand while a lease is out is opened again and adopts it: nothing over the limit', async () => {
    const env = await leaseEnv(2, 1500, 1000);
    const first = await startTestBatch(env, `ta-${process.pid}`, makeItems(6, 'ta'), { concurrency: 2 });
    await waitFor(
      async () => (await accountState(env))?.leases?.[`batch-ta-${process.pid}`]?.held === 2,
      'the first batch to hold both slots',
    );
    await env.client.workflow.getHandle(env.accountId).terminate('by hand');
    // The second batch opens the account again at once and asks for slots; the first tells its lease within a
    // check interval.
    const second = await startTestBatch(env, `tb-${process.pid}`, makeItems(4, 'tb'), { concurrency: 2 });
    expect(await first.handle.result()).toMatchObject({ succeeded: 6, failed: 0 });
    expect(await second.handle.result()).toMatchObject({ succeeded: 4, failed: 0 });
    // The new run granted nothing before it knew the slots in use: the provider never refused a submit.
    expect(throttles(env)).toBe(0);
    expect(env.sim.stats().maxInFlight).toBe(2);
    expect(await accountState(env)).toMatchObject({ inFlight: 0, waiting: 0, setLimit: 2 });
  });

  it('a batch cancelled while it holds a lease gives its slots back as it ends: the other batch gets them', async () => {
    // The holder check is an hour away: only the cancelled batch's own return can free its slots.
    const env = await leaseEnv(2, 600_000, 3_600_000);
    const held = await startTestBatch(env, `held-${process.pid}`, makeItems(4, 'held'), { concurrency: 2 });
    await waitFor(() => submitted(env, 'held') === 2, 'the first batch to hold both slots');
    const next = await startTestBatch(env, `next-${process.pid}`, makeItems(2, 'next'), { concurrency: 2 });
    await waitFor(async () => (await accountState(env))?.waiting === 2, 'the second batch waiting');
    await held.handle.cancel();
    await held.handle.result().catch(() => undefined);
    await waitFor(() => submitted(env, 'next') === 2, 'the second batch to take both slots');
    expect(await accountState(env)).toMatchObject({
      inFlight: 2,
      leases: { [`batch-next-${process.pid}`]: { held: 2 } },
    });
    expect(throttles(env)).toBe(0);
    await next.handle.cancel();
    await next.handle.result().catch(() => undefined);
  });
});

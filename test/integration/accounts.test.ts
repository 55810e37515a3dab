// Provider accounts on a real server, against the simulator's own limit of tasks in flight: batches running side by
// side share one account's limit (set, learned, or changed while they run), take turns, and give slots back when
// they are cancelled or their holders are gone.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { accountOf } from '../../src/providers/account';
import { providersFromEnv } from '../../src/providers';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import { accountStateQuery, setLimitUpdate } from '../../src/shared/accounts';
import { progressQuery } from '../../src/shared/messages';
import { createWorker, type ImageWorker } from '../../src/worker';
import { type BatchTarget, makeItems, startTestBatch } from '../helpers/batch';
import { waitFor } from '../helpers/image-env';
import { workflowBundle } from '../helpers/bundle';
import { closeConnections, nativeConnection, testClient, uniqueQueue } from '../helpers/temporal';

/** One simulator (its own account: its endpoint is new) and one worker per test. */
interface AccountEnv extends BatchTarget {
  sim: ProviderSimulator;
  accountId: string;
  stop(): Promise<void>;
}

let current: AccountEnv | undefined;

async function accountEnv(providerLimit: number, setLimit?: number, latencyMs = 300): Promise<AccountEnv> {
  const sim = await startSimulator({ latencyMs, concurrencyLimit: providerLimit });
  const providers = providersFromEnv(sim.env());
  const taskQueue = uniqueQueue('acct');
  const worker: ImageWorker = await createWorker({
    connection: await nativeConnection(),
    taskQueue,
    providers,
    accountLimits: setLimit ? { volcengine: setLimit } : {},
    accountHolderCheckMs: 1000,
    workflowBundle: await workflowBundle(),
  });
  const running = worker.run();
  current = {
    sim,
    client: await testClient(),
    taskQueue,
    outDir: fs.mkdtempSync(path.join(os.tmpdir(), 'ib-acct-')),
    accountId: accountOf('volcengine', providers, taskQueue).workflowId,
    async stop() {
      worker.shutdown();
      await running;
      await sim.close();
    },
  };
  return current;
}

const accountState = (env: AccountEnv) => env.client.workflow.getHandle(env.accountId).query(accountStateQuery);

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

describe('provider accounts', () => {
  it('two batches at once stay within a set limit: no throttles, all succeed', async () => {
    const env = await accountEnv(2, 2);
    const [a, b] = await Promise.all(
      ['set-a', 'set-b'].map((id) =>
        startTestBatch(env, `${id}-${process.pid}`, makeItems(10, id), { concurrency: 4 }),
      ),
    );
    const summaries = await Promise.all([a.handle.result(), b.handle.result()]);
    for (const s of summaries) expect(s).toMatchObject({ succeeded: 10, failed: 0 });
    const stats = env.sim.stats();
    expect(stats.maxInFlight).toBe(2);
    expect(stats.requestsByOutcome['concurrency-limited'] ?? 0).toBe(0);
    expect(await accountState(env)).toMatchObject({ setLimit: 2, throttles: 0, inFlight: 0, waiting: 0 });
  });

  it('learns an unset limit from throttles; every item succeeds and the throttles stay under the bound', async () => {
    const env = await accountEnv(2);
    const batches = await Promise.all(
      ['learn-a', 'learn-b'].map((id) =>
        startTestBatch(env, `${id}-${process.pid}`, makeItems(8, id), { concurrency: 4 }),
      ),
    );
    for (const { handle } of batches) expect(await handle.result()).toMatchObject({ succeeded: 8, failed: 0 });
    const state = await accountState(env);
    // The bound: the first burst (8 asked at once of a provider that takes 2: 6 refused) and one probe per
    // GROW_AFTER_ROUNDS (4) x limit successful submits (16 / 8 = 2).
    expect(state.throttles).toBeGreaterThan(0);
    expect(state.throttles).toBeLessThanOrEqual(6 + 2);
    expect(env.sim.stats().requestsByOutcome['concurrency-limited']).toBe(state.throttles);
    expect(env.sim.stats().maxInFlight).toBe(2);
  });

  it('a limit changed while batches run takes effect at once', async () => {
    const env = await accountEnv(10, 1, 2000);
    const { handle } = await startTestBatch(env, `change-${process.pid}`, makeItems(9, 'change'), {
      concurrency: 5,
    });
    await waitFor(async () => (await accountState(env).catch(() => undefined))?.waiting === 4, '4 waiting for a slot');
    await waitFor(() => env.sim.stats().inFlight === 1, 'the one holder to submit');
    const answer = await env.client.workflow.getHandle(env.accountId).executeUpdate(setLimitUpdate, { args: [3] });
    expect(answer).toMatchObject({ limit: 3, inFlight: 3, waiting: 2 });
    expect(await handle.result()).toMatchObject({ succeeded: 9 });
    expect(env.sim.stats().maxInFlight).toBe(3);
  });

  it('a batch cancelled while its items wait leaves the queue at once', async () => {
    const env = await accountEnv(10, 1, 60_000);
    const { handle } = await startTestBatch(env, `cancelwait-${process.pid}`, makeItems(5, 'cw'), { concurrency: 5 });
    await waitFor(async () => (await accountState(env).catch(() => undefined))?.waiting === 4, '4 waiting');
    await handle.cancel();
    await handle.result().catch(() => undefined);
    expect(await accountState(env)).toMatchObject({ inFlight: 0, waiting: 0 });
    expect(env.sim.stats().submissions).toBe(1);
  });

  it('a small batch started after a large one gets every other slot, and finishes long before it', async () => {
    // Tasks are held (a latency of ten minutes) and released round by round, so each slot's next holder is certain.
    const env = await accountEnv(10, 2, 600_000);
    const submitted = (prefix: string) =>
      Object.keys(env.sim.stats().submissionsByPrompt).filter((p) => p.startsWith(`${prefix} `)).length;
    const waiting = (count: number) =>
      waitFor(async () => (await accountState(env).catch(() => undefined))?.waiting === count, `${count} waiting`);
    const big = await startTestBatch(env, `big-${process.pid}`, makeItems(200, 'big'), { concurrency: 20 });
    await waiting(18);
    await waitFor(() => env.sim.stats().submissions === 2, 'the big batch to hold both slots');
    const small = await startTestBatch(env, `small-${process.pid}`, makeItems(5, 'small'), { concurrency: 5 });
    await waiting(23);
    // Each round the two held tasks end, and of the two slots they free one goes to each batch, however many of the
    // big one's images waited first.
    for (let round = 1; round <= 5; round++) {
      env.sim.finishNow();
      await waitFor(() => env.sim.stats().submissions === 2 + 2 * round, `round ${round}'s two submissions`);
      expect([submitted('small'), submitted('big')], `after round ${round}`).toEqual([round, 2 + round]);
    }
    // The small batch's last image ends; its slot and the big one's go to the big batch, whose tasks stay held.
    env.sim.finishNow();
    expect(await small.handle.result()).toMatchObject({ succeeded: 5 });
    await waitFor(() => submitted('big') === 9, "the big batch's next two");
    await expect.poll(async () => (await big.handle.query(progressQuery)).succeeded).toBe(7);
    await big.handle.cancel();
    await big.handle.result().catch(() => undefined);
  });

  it('the slot of an image terminated by hand comes back', async () => {
    const env = await accountEnv(10, 1, 60_000);
    const batchId = `term-${process.pid}`;
    const { handle } = await startTestBatch(env, batchId, makeItems(2, 'term'), { concurrency: 2 });
    await waitFor(async () => (await accountState(env).catch(() => undefined))?.waiting === 1, 'one waiting');
    await waitFor(() => env.sim.stats().submissions === 1, 'the holder to submit');
    // The holder is the item whose prompt the simulator saw; the other waits for its slot.
    const [prompt] = Object.keys(env.sim.stats().submissionsByPrompt);
    const holder = `term-${prompt.split(' ').at(-1)}`;
    await env.sim.setKnobs({ latencyMs: 100 });
    await env.client.workflow.getHandle(`batch-${batchId}/${holder}`).terminate('by hand');
    const summary = await handle.result();
    expect(summary).toMatchObject({ succeeded: 1, failed: 1 });
    expect(summary.failures?.[0]).toMatchObject({ itemId: holder });
    expect(await accountState(env)).toMatchObject({ inFlight: 0, waiting: 0 });
  });
});

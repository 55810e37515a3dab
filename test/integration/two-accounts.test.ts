// Two accounts of one provider on one task queue: two simulators (two endpoints, two keys), a worker of each, as a
// `run` (its in-process worker, account A) beside an `imagebatch worker` of account B. A provider task is submitted,
// polled and downloaded with one account, so nothing is paid twice; a batch that named its account runs on it only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { heldAccounts } from '../../src/client/provider-plan';
import { type ProviderClients, providersFromEnv } from '../../src/providers';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import { createWorker } from '../../src/worker';
import { type BatchTarget, expectOutputsIntact, makeItems, readManifest, startTestBatch } from '../helpers/batch';
import { workflowBundle } from '../helpers/bundle';
import { closeConnections, nativeConnection, testClient, uniqueQueue } from '../helpers/temporal';

interface Account {
  sim: ProviderSimulator;
  providers: ProviderClients;
  stop(): Promise<void>;
}

let a: Account;
let b: Account;
let target: BatchTarget;

/** A simulator with its own key (and endpoint: its own port), and a worker holding that account's credentials. */
async function account(taskQueue: string, key: string): Promise<Account> {
  const sim = await startSimulator({ latencyMs: 300, dashscopeKey: key });
  const providers = providersFromEnv(sim.env(), ['dashscope']);
  const worker = await createWorker({
    connection: await nativeConnection(),
    taskQueue,
    providers,
    workflowBundle: await workflowBundle(),
  });
  const running = worker.run();
  return {
    sim,
    providers,
    async stop() {
      worker.shutdown();
      await running;
      await sim.close();
    },
  };
}

beforeAll(async () => {
  const taskQueue = uniqueQueue('two-acct');
  [a, b] = await Promise.all([account(taskQueue, 'sk-account-a'), account(taskQueue, 'sk-account-b')]);
  target = { client: await testClient(), taskQueue, outDir: fs.mkdtempSync(path.join(os.tmpdir(), 'ib-two-acct-')) };
});
afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await closeConnections();
});

/** Submissions each simulator accepted for each item's prompt. */
const submissions = (sim: ProviderSimulator, prompts: string[]) =>
  prompts.map((p) => sim.stats().submissionsByPrompt[p] ?? 0);

describe('two accounts of one provider on one task queue', () => {
  it('a batch that named account A is submitted, polled and downloaded at A only, each item paid once', async () => {
    const items = makeItems(6, `named-${process.pid}`);
    const prompts = items.map((i) => i.prompt);
    // What `run` hands down: the account its own clients make, never the credential.
    const accounts = heldAccounts(a.providers, ['dashscope'], target.taskQueue);
    expect(accounts).toHaveLength(1);
    expect(JSON.stringify(accounts)).not.toContain('sk-account-a');
    const { handle, outDir } = await startTestBatch(target, `named-${process.pid}`, items, {
      provider: 'dashscope',
      accounts,
    });
    expect(await handle.result()).toMatchObject({ total: 6, succeeded: 6, failed: 0 });
    expect(submissions(a.sim, prompts)).toEqual(prompts.map(() => 1));
    expect(submissions(b.sim, prompts)).toEqual(prompts.map(() => 0));
    // Every image is the one A served for its task.
    expect(expectOutputsIntact(outDir, a.sim.stats()).items.map((e) => e.tasks ?? e.attempts)).toEqual(
      items.map(() => 1),
    );
  });

  it('a batch that named no account is served by either, each task polled where it was accepted', async () => {
    const items = makeItems(8, `either-${process.pid}`);
    const prompts = items.map((i) => i.prompt);
    const { handle, outDir } = await startTestBatch(target, `either-${process.pid}`, items, {
      provider: 'dashscope',
      concurrency: 4,
    });
    expect(await handle.result()).toMatchObject({ total: 8, succeeded: 8, failed: 0 });
    // Each prompt submitted once in all: no task taken as gone at the other account and submitted again.
    const both = submissions(a.sim, prompts).map((n, i) => n + submissions(b.sim, prompts)[i]);
    expect(both).toEqual(prompts.map(() => 1));
    expect(readManifest(outDir).items.map((e) => [e.status, e.tasks ?? e.attempts, e.errorType])).toEqual(
      items.map(() => ['succeeded', 1, undefined]),
    );
    // Each image is the one served for its task, by the simulator that accepted it.
    const served = { ...a.sim.stats().served, ...b.sim.stats().served };
    expectOutputsIntact(outDir, { ...a.sim.stats(), served });
  });
});

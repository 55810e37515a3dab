// An account's own activity queue: its name from the account, read back by the activities, and a task on it refused
// by a worker of another account before any request reaches the provider (the simulator over loopback counts them).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../src/activities';
import { heldAccounts } from '../../src/client/provider-plan';
import { providersFromEnv } from '../../src/providers';
import { accountOf } from '../../src/providers/account';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import { accountTaskQueue, namedAccount, parseActivityQueue } from '../../src/shared/account-queues';
import { failure } from '../helpers/failures';

let sim: ProviderSimulator;

beforeAll(async () => {
  sim = await startSimulator({ latencyMs: 0 });
});
afterAll(() => sim.close());

/** This worker's clients (the simulator's key) and another account's (another key, same endpoint). */
const mine = () => providersFromEnv(sim.env(), ['dashscope']);
const theirs = () => providersFromEnv({ ...sim.env(), DASHSCOPE_API_KEY: 'sk-someone-else' }, ['dashscope']);
const requests = () => Object.values(sim.stats().requestsByOutcome).reduce((a, b) => a + b, 0);

describe('account queues', () => {
  it('are named after the account, beside the provider queue, and read back', () => {
    const account = accountOf('dashscope', mine(), 'imagebatch');
    const queue = accountTaskQueue('imagebatch', account);
    expect(queue).toMatch(/^imagebatch@dashscope@[0-9a-f]{12}$/);
    expect(`account-dashscope-${queue.split('@')[2]}`).toBe(account.workflowId);
    expect(parseActivityQueue(queue)).toEqual({
      workflowQueue: 'imagebatch',
      provider: 'dashscope',
      accountHash: queue.split('@')[2],
    });
    expect(parseActivityQueue('imagebatch@fal')).toEqual({ workflowQueue: 'imagebatch', provider: 'fal' });
    expect(parseActivityQueue('imagebatch')).toEqual({ workflowQueue: 'imagebatch' });
    // Another key, another queue.
    expect(accountTaskQueue('imagebatch', accountOf('dashscope', theirs(), 'imagebatch'))).not.toBe(queue);
  });

  it("names the batch's accounts from the clients held, refs only, for the providers it needs", () => {
    const held = heldAccounts(mine(), ['volcengine', 'dashscope'], 'q');
    expect(held).toEqual([accountOf('dashscope', mine(), 'q')]);
    expect(JSON.stringify(held)).not.toContain(sim.getKnobs().dashscopeKey);
    expect(namedAccount(held, 'dashscope')).toBe(held[0]);
    expect(namedAccount(held, 'fal')).toBeUndefined();
  });
});

describe("a task on another account's queue", () => {
  it('is refused retryably before any request (never a TaskGone); on its own queue it runs', async () => {
    const acts = createActivities({ providers: mine() });
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-acct-q-'));
    const other = { taskQueue: accountTaskQueue('q', accountOf('dashscope', theirs(), 'q')) };
    const before = requests();
    const target = { outDir, itemId: 'a', provider: 'dashscope' as const };
    const refusals = await Promise.all([
      failure(new MockActivityEnvironment(other).run(acts.submitImage, { ...target, request: { prompt: 'a fox' } })),
      failure(new MockActivityEnvironment(other).run(acts.collectImage, { ...target, taskId: 't1', model: 'm' })),
      failure(
        new MockActivityEnvironment(other).run(acts.cancelImage, {
          provider: target.provider,
          taskId: 't1',
          model: 'm',
        }),
      ),
      failure(new MockActivityEnvironment(other).run(acts.openAccount, { provider: target.provider, taskQueue: 'q' })),
    ]);
    for (const f of refusals) {
      expect(f).toMatchObject({ type: 'OtherAccount', nonRetryable: false });
      expect(f.message).toMatch(/belongs to another dashscope account than this worker's/);
    }
    expect(requests()).toBe(before);
    expect(fs.readdirSync(outDir)).toEqual([]);

    const own = { taskQueue: accountTaskQueue('q', accountOf('dashscope', mine(), 'q')) };
    const submitted = await new MockActivityEnvironment(own).run(acts.submitImage, {
      ...target,
      request: { prompt: 'a fox' },
    });
    expect(submitted).toMatchObject({ taskId: expect.any(String) });
    expect(sim.stats().submissionsByPrompt['a fox']).toBe(1);
  });
});

// `imagebatch limit`'s listing of an account no worker answers for, on a real server: what it tells comes from the
// account workflow's input, and when that cannot be read, from its id, which names the provider.
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { accountEntry } from '../../src/client/account-lookup';
import type { Session } from '../../src/client/session';
import { accountOf } from '../../src/providers/account';
import { providersFromEnv } from '../../src/providers';
import { PROVIDER_KINDS } from '../../src/shared/providers';
import { closeConnections, temporalAddress, testClient, uniqueQueue } from '../helpers/temporal';

afterAll(closeConnections);

/** The client side of a session over the test server (what the account look-up uses of one). */
async function testSession(): Promise<Session> {
  const client = await testClient();
  const target = { address: temporalAddress(), namespace: inject('temporalNamespace'), options: {} };
  return { target, client, nativeConnection: () => Promise.reject(new Error('unused')), close: async () => {} };
}

const ENV = {
  VOLC_ACCESSKEY: 'a',
  VOLC_SECRETKEY: 's',
  DASHSCOPE_API_KEY: 'd',
  FAL_KEY: 'f',
  OPENAI_API_KEY: 'o',
  COMFYUI_URL: 'http://comfy.local:8188',
};

describe('an account whose input cannot be read', () => {
  it('is listed under the provider its id names, for every provider', async () => {
    const session = await testSession();
    // A queue no worker polls: the account never runs, so only its history tells anything about it.
    const taskQueue = uniqueQueue('acct-lookup');
    const providers = providersFromEnv(ENV);
    for (const kind of PROVIDER_KINDS) {
      const account = accountOf(kind, providers, taskQueue);
      // Started without its input (as a foreign or damaged start would be): the look-up cannot read it.
      const handle = await session.client.workflow.start('accountWorkflow', {
        workflowId: account.workflowId,
        taskQueue,
        args: [],
      });
      try {
        const entry = await accountEntry(session, account.workflowId, taskQueue, 1000);
        expect(entry.unknown).toBe('no worker polls its task queue');
        expect(entry.account).toEqual({ workflowId: account.workflowId, provider: kind, label: account.workflowId });
      } finally {
        await handle.terminate('test over');
      }
    }
  });
});

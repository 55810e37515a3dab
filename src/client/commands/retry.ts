// `imagebatch retry`: a running batch re-queues failed items (an Update that answers); a finished one gets a new
// batch `<id>-rN` of its failed items, worked in this process on the old batch's task queue, writing into the same
// folder and manifest.
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { readItems } from '../../output/items-copy';
import { readStoredManifest } from '../../output/manifest';
import { isBucketLocation } from '../../storage/batch-store';
import type { BatchInput } from '../../shared/batch-types';
import { retryUpdate } from '../../shared/messages';
import { batchInputOf, findBatch, type FoundBatch } from '../batch-lookup';
import { batchWorkflowId } from '../batch-start';
import { selection, sendControl } from '../control-request';
import { EXIT, UsageError } from '../exit-codes';
import { startAndFollow, withInProcessWorker } from '../in-process';
import { heldAccounts, planForBatch, providersNeeded } from '../provider-plan';
import { setupProviders } from '../provider-setup';
import { type Session, withSession } from '../session';
import { type AccountLimits, resolveAccountLimits } from '../settings';

export interface RetryFlags {
  item?: string[];
  provider?: string;
  endpoint?: string;
  json?: boolean;
  db?: string;
  config?: string;
}

export async function retryCommand(batchId: string, flags: RetryFlags): Promise<number> {
  const items = flags.item ?? [];
  const accountLimits = resolveAccountLimits(flags);
  return withSession(async (session) => {
    const batch = await findBatch(session.client, batchId);
    if (batch.running)
      return sendControl(session, batch, (h) => h.executeUpdate(retryUpdate, { args: [selection(items)] }));
    return retryFinished(session, batch, items, flags, accountLimits);
  }, flags.db);
}

async function retryFinished(
  session: Session,
  batch: FoundBatch,
  items: string[],
  flags: RetryFlags,
  accountLimits: AccountLimits,
) {
  const old = await batchInputOf(session.client, batch.handle);
  // A bucket's batch is worked here too: its bucket must be one this process can use (exit 2 or 3 naming it).
  if (isBucketLocation(old.outDir)) await (await import('../../storage/check-bucket.js')).checkBucket(old.outDir);
  const manifest = await readStoredManifest(old.outDir);
  if (!manifest) throw new UsageError(`batch ${batch.batchId} has no manifest in ${old.outDir}`);
  const failed = new Set(manifest.items.filter((e) => e.status !== 'succeeded').map((e) => e.id));
  const wanted = items.length ? items : [...failed];
  const notFailed = wanted.filter((id) => !failed.has(id));
  if (notFailed.length)
    throw new UsageError(`not failed or cancelled in batch ${batch.batchId}: ${notFailed.join(', ')}`);
  if (!wanted.length) {
    console.log(`Batch ${batch.batchId} has no failed or cancelled items.`);
    return EXIT.ok;
  }
  const want = new Set(wanted);
  const retryId = await freeRetryId(session.client, batch.batchId);
  const retried = (await readItems(old.items)).filter((i) => want.has(i.id));
  const input: BatchInput = {
    ...old,
    batchId: retryId,
    items: { kind: 'inline', items: retried },
    retryOf: manifest.retryOf ?? batch.batchId,
    state: undefined,
    continueAsNewAfterEvents: undefined,
  };
  // The old batch's queue and provider: its accounts are there, and a real batch is never retried on the simulator.
  const plan = await planForBatch(batch, input, flags.provider);
  const setup = { ...(await setupProviders(plan, flags.endpoint)), accountLimits };
  // Worked here: on this process's accounts (the old batch's may be another key's, whose worker is not here).
  const accounts = heldAccounts(setup.providers, providersNeeded(plan.batch, retried), setup.taskQueue);
  const here = { ...input, accounts: accounts.length ? accounts : undefined };
  try {
    return await withInProcessWorker(session, setup, () =>
      startAndFollow(session, here, {
        taskQueue: setup.taskQueue,
        json: Boolean(flags.json),
        banner: [`Retrying ${wanted.length} item(s) of batch ${batch.batchId} into ${old.outDir}`],
      }),
    );
  } finally {
    await setup.simulator?.close();
  }
}

async function freeRetryId(client: Client, batchId: string): Promise<string> {
  for (let k = 1; ; k++) {
    const id = `${batchId}-r${k}`;
    try {
      await client.workflow.getHandle(batchWorkflowId(id)).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return id;
      throw err;
    }
  }
}

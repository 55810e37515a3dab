// Commands on an existing batch: status, watch, list, cancel, retry, pause, resume, concurrency.
import fs from 'node:fs';
import { type Client, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { BatchInput } from '../../shared/batch-types';
import type { ImageItem } from '../../shared/types';
import {
  cancelSignal,
  pauseSignal,
  progressQuery,
  resumeSignal,
  retrySignal,
  setConcurrencySignal,
} from '../../shared/messages';
import type { batchWorkflow } from '../../workflows';
import { createWorker } from '../../worker';
import {
  batchWorkflowId,
  describeProgress,
  followBatch,
  printStartBanner,
  reportOutcome,
  resultDocument,
  startBatch,
} from '../batch-runner';
import { EXIT, UsageError } from '../exit-codes';
import { setupProviders } from '../provider-setup';
import { openSession, type Session } from '../session';
import { readManifest } from '../../output/manifest';

type BatchHandle = WorkflowHandle<typeof batchWorkflow>;

async function withSession<T>(fn: (s: Session) => Promise<T>, db?: string): Promise<T> {
  const session = await openSession({ allowEmbedded: true, db });
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}

async function findBatch(
  client: Client,
  batchId: string,
): Promise<{ handle: BatchHandle; running: boolean; status: string }> {
  const handle = client.workflow.getHandle<typeof batchWorkflow>(batchWorkflowId(batchId));
  try {
    const d = await handle.describe();
    return { handle, running: d.status.name === 'RUNNING', status: d.status.name };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new UsageError(`no batch '${batchId}' (no workflow ${batchWorkflowId(batchId)})`);
    throw err;
  }
}

/** The input the batch's current run started with (it carries the output folder and the items). */
async function batchInputOf(handle: BatchHandle): Promise<BatchInput> {
  const history = await handle.fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) throw new Error(`cannot read the input of ${handle.workflowId}`);
  return defaultPayloadConverter.fromPayload<BatchInput>(payload);
}

function finishedMessage(batchId: string, status: string): number {
  console.error(
    `imagebatch: batch ${batchId} has already finished (${status.toLowerCase()}); there is nothing to signal.`,
  );
  return EXIT.someFailed;
}

export async function statusCommand(batchId: string, flags: { json?: boolean; db?: string }): Promise<number> {
  return withSession(async (session) => {
    const { handle, running, status } = await findBatch(session.client, batchId);
    if (running) {
      const progress = await Promise.race([
        handle.query(progressQuery),
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 8000)),
      ]).catch(() => undefined);
      if (flags.json)
        process.stdout.write(
          JSON.stringify({ batchId, status: 'running', progress: progress ?? null }, null, 2) + '\n',
        );
      else if (progress) console.log(`Batch ${batchId} running: ${describeProgress(progress)}`);
      else console.log(`Batch ${batchId} is running, but no worker answered: start one with \`imagebatch worker\`.`);
      return EXIT.ok;
    }
    const input = await batchInputOf(handle);
    const manifest = readManifest(input.outDir);
    const doc = resultDocument(batchId, status.toLowerCase(), input.outDir, manifest);
    if (flags.json) process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
    else {
      console.log(`Batch ${batchId} ${status.toLowerCase()}: ${JSON.stringify(doc.counts)}`);
      if (doc.manifest) console.log(`Manifest: ${doc.manifest}`);
    }
    const c = doc.counts as Record<string, number>;
    return status === 'COMPLETED' && !c.failed && !c.cancelled ? EXIT.ok : EXIT.someFailed;
  }, flags.db);
}

export async function watchCommand(batchId: string, flags: { json?: boolean; db?: string }): Promise<number> {
  return withSession(async (session) => {
    const { handle } = await findBatch(session.client, batchId);
    const input = await batchInputOf(handle);
    const outcome = await followBatch(handle, { json: Boolean(flags.json), interactive: false, batchId });
    return reportOutcome(outcome, { json: Boolean(flags.json), batchId, batchDir: input.outDir, session });
  }, flags.db);
}

export async function listCommand(flags: { running?: boolean; json?: boolean; db?: string }): Promise<number> {
  return withSession(async (session) => {
    const query = `WorkflowType="batchWorkflow"${flags.running ? ' AND ExecutionStatus="Running"' : ''}`;
    const rows = [];
    for await (const wf of session.client.workflow.list({ query })) {
      rows.push({
        batchId: wf.workflowId.replace(/^batch-/, ''),
        status: wf.status.name.toLowerCase(),
        started: wf.startTime.toISOString(),
      });
      if (rows.length >= 1000) break;
    }
    if (flags.json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    else if (!rows.length) console.log(flags.running ? 'No running batches.' : 'No batches.');
    else for (const r of rows) console.log(`${r.batchId.padEnd(32)} ${r.status.padEnd(12)} ${r.started}`);
    return EXIT.ok;
  }, flags.db);
}

function signalCommand<A extends unknown[]>(
  describe: (batchId: string, ...a: A) => string,
  send: (h: BatchHandle, ...a: A) => Promise<void>,
) {
  return async (batchId: string, flags: { db?: string }, ...args: A): Promise<number> =>
    withSession(async (session) => {
      const { handle, running, status } = await findBatch(session.client, batchId);
      if (!running) return finishedMessage(batchId, status);
      await send(handle, ...args);
      console.log(describe(batchId, ...args));
      return EXIT.ok;
    }, flags.db);
}

export const cancelCommand = signalCommand(
  (id, items: string[]) =>
    items.length ? `Asked batch ${id} to cancel ${items.join(', ')}.` : `Asked batch ${id} to cancel.`,
  (h, items: string[]) => h.signal(cancelSignal, { itemIds: items.length ? items : undefined }),
);
export const pauseCommand = signalCommand(
  (id) => `Batch ${id} paused: running images finish, no new ones start.`,
  (h) => h.signal(pauseSignal),
);
export const resumeCommand = signalCommand(
  (id) => `Batch ${id} resumed.`,
  (h) => h.signal(resumeSignal),
);
export const concurrencyCommand = signalCommand(
  (id, n: number) => `Batch ${id}: concurrency set to ${n}.`,
  (h, n: number) => h.signal(setConcurrencySignal, n),
);

export interface RetryFlags {
  item?: string[];
  provider?: string;
  endpoint?: string;
  json?: boolean;
  db?: string;
}

/** Running: re-queue failed items by signal. Finished: a new batch of the failed items, same output folder. */
export async function retryCommand(batchId: string, flags: RetryFlags): Promise<number> {
  const items = flags.item ?? [];
  const setup = await setupProviders(flags.provider, flags.endpoint);
  try {
    return await withSession(async (session) => {
      const { handle, running } = await findBatch(session.client, batchId);
      if (running) {
        await handle.signal(retrySignal, { itemIds: items.length ? items : undefined });
        console.log(`Asked batch ${batchId} to retry ${items.length ? items.join(', ') : 'its failed items'}.`);
        return EXIT.ok;
      }
      const old = await batchInputOf(handle);
      const manifest = readManifest(old.outDir);
      if (!manifest) throw new UsageError(`batch ${batchId} has no manifest in ${old.outDir}`);
      const failed = new Set(manifest.items.filter((e) => e.status !== 'succeeded').map((e) => e.id));
      const wanted = items.length ? items : [...failed];
      const notFailed = wanted.filter((id) => !failed.has(id));
      if (notFailed.length)
        throw new UsageError(`not failed or cancelled in batch ${batchId}: ${notFailed.join(', ')}`);
      if (!wanted.length) {
        console.log(`Batch ${batchId} has no failed or cancelled items.`);
        return EXIT.ok;
      }
      const all = old.items.kind === 'inline' ? old.items.items : loadFileItems(old.items.path);
      const want = new Set(wanted);
      const retryId = await freeRetryId(session.client, batchId);
      const worker = await createWorker({
        connection: await session.nativeConnection(),
        namespace: session.target.namespace,
        taskQueue: setup.taskQueue,
        providers: setup.providers,
      });
      const runningWorker = worker.run();
      try {
        const input: BatchInput = {
          ...old,
          batchId: retryId,
          items: { kind: 'inline', items: all.filter((i) => want.has(i.id)) },
          retryOf: manifest.retryOf ?? batchId,
          state: undefined,
          continueAsNewAfterEvents: undefined,
        };
        const h = await startBatch(session, input, setup.taskQueue);
        printStartBanner(session, retryId, [
          `Retrying ${wanted.length} item(s) of batch ${batchId} into ${old.outDir}`,
        ]);
        const outcome = await followBatch(h, { json: Boolean(flags.json), interactive: true, batchId: retryId });
        return reportOutcome(outcome, { json: Boolean(flags.json), batchId: retryId, batchDir: old.outDir, session });
      } finally {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await runningWorker;
      }
    }, flags.db);
  } finally {
    await setup.simulator?.close();
  }
}

function loadFileItems(file: string): ImageItem[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as ImageItem);
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

// A batch worked in this process (`run`, `retry` of a finished batch, `resume` when no worker serves it): a worker
// beside the client, the batch followed and reported, then the worker shut down. Also the one place a worker is
// built from a provider setup (`imagebatch worker` too).
import type { WorkerOptions } from '@temporalio/worker';
import { readStoredManifest } from '../output/manifest';
import type { BatchInput } from '../shared/batch-types';
import { createWorker } from '../worker';
import type { BatchHandle } from './batch-lookup';
import { printStartBanner, startBatch } from './batch-start';
import { followBatch } from './follow';
import type { ProviderSetup } from './provider-setup';
import { reportRun } from './batch-summary';
import type { Session } from './session';

export interface InProcessResult {
  code: number;
  /** The user detached: the batch stays on the server and the worker is not drained. */
  detached: boolean;
}

/** A worker for `setup`'s task queue, providers and account limits. */
export async function setupWorker(session: Session, setup: ProviderSetup, tuning?: Partial<WorkerOptions>) {
  return createWorker({
    connection: await session.nativeConnection(),
    namespace: session.target.namespace,
    taskQueue: setup.taskQueue,
    providers: setup.providers,
    accountLimits: setup.accountLimits,
    tuning,
  });
}

/** Runs a worker for `setup`'s task queue while `fn` runs; shuts it down and waits for it, unless the user detached. */
export async function withInProcessWorker(
  session: Session,
  setup: ProviderSetup,
  fn: () => Promise<InProcessResult>,
): Promise<number> {
  const worker = await setupWorker(session, setup);
  const running = worker.run();
  let detached = false;
  try {
    const result = await fn();
    detached = result.detached;
    return result.code;
  } finally {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    // A detaching user should not wait for the worker's long polls to drain; the server keeps the batch.
    if (!detached) await running;
    else {
      void running.catch(() => undefined);
      forceExitSoon();
    }
  }
}

/** Starts the batch on `taskQueue`, shows its progress and prints its end (in a withInProcessWorker's fn). */
export async function startAndFollow(
  session: Session,
  input: BatchInput,
  o: { taskQueue: string; json: boolean; banner: string[] },
): Promise<InProcessResult> {
  const handle = await startBatch(session, input, o.taskQueue);
  printStartBanner(session, input.batchId, o.banner);
  return followAndReport(session, handle, input, o);
}

/** Shows a batch's progress until it ends or stops, and prints that (in a withInProcessWorker's fn). */
export async function followAndReport(
  session: Session,
  handle: BatchHandle,
  input: BatchInput,
  o: { json: boolean },
): Promise<InProcessResult> {
  const since = Date.now();
  const outcome = await followBatch(handle, {
    json: o.json,
    interactive: true,
    batchId: input.batchId,
    hooks: Boolean(input.onComplete || input.webhook),
  });
  if (outcome.kind === 'stopped') await stoppedManifest(input, since);
  const code = await reportRun(outcome, {
    json: o.json,
    batchId: input.batchId,
    batchDir: input.outDir,
    embedded: Boolean(session.embedded),
    simulated: input.simulated,
  });
  return { code, detached: outcome.kind === 'detached' };
}

/**
 * A stopped batch writes its manifest (the items not run listed as queued) once nothing is in flight, which is when
 * following it ends: wait for that manifest (this process's worker writes it), or go on with what is there.
 */
async function stoppedManifest(input: BatchInput, since: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await readStoredManifest(input.outDir).catch(() => undefined);
    if (m?.batchId === input.batchId && m.stopped && Date.parse(m.writtenAt) >= since) return;
    if (Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Exits once the exit code is set, even if native handles (worker polls) would keep the process alive. */
export function forceExitSoon(ms = 2000): void {
  setTimeout(() => process.exit(), ms).unref();
}

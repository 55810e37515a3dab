// A batch worked in this process (`run`, `retry` of a finished batch): a worker beside the client, the batch
// started, followed and reported, then the worker shut down.
import type { BatchInput } from '../shared/batch-types';
import { createWorker } from '../worker';
import { printStartBanner, startBatch } from './batch-start';
import { followBatch } from './follow';
import type { ProviderSetup } from './provider-setup';
import { reportRun } from './report';
import type { Session } from './session';

export interface InProcessResult {
  code: number;
  /** The user detached: the batch stays on the server and the worker is not drained. */
  detached: boolean;
}

/** Runs a worker for `setup`'s task queue while `fn` runs; shuts it down and waits for it, unless the user detached. */
export async function withInProcessWorker(
  session: Session,
  setup: ProviderSetup,
  fn: () => Promise<InProcessResult>,
): Promise<number> {
  const worker = await createWorker({
    connection: await session.nativeConnection(),
    namespace: session.target.namespace,
    taskQueue: setup.taskQueue,
    providers: setup.providers,
  });
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
  const outcome = await followBatch(handle, { json: o.json, interactive: true, batchId: input.batchId });
  const code = reportRun(outcome, {
    json: o.json,
    batchId: input.batchId,
    batchDir: input.outDir,
    embedded: Boolean(session.embedded),
  });
  return { code, detached: outcome.kind === 'detached' };
}

/** Exits once the exit code is set, even if native handles (worker polls) would keep the process alive. */
export function forceExitSoon(ms = 2000): void {
  setTimeout(() => process.exit(), ms).unref();
}

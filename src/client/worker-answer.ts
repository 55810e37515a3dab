// A running batch answers control requests and progress queries only through a worker polling its task queue.
// Ask the server whether one polls before sending, and give up after a while when none answers, saying so.
import { isGrpcDeadlineError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import type { FoundBatch } from './batch-lookup';
import { NoWorker } from './exit-codes';
import { workerCommandFor } from './provider-setup';
import type { Session } from './session';

const DEFAULT_TIMEOUT_MS = 20_000;

/** How long a request waits for a worker's answer (IMAGEBATCH_CONTROL_TIMEOUT_MS, for tests). */
export function answerTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const ms = Number(env.IMAGEBATCH_CONTROL_TIMEOUT_MS);
  return Number.isFinite(ms) && ms > 0 ? ms : DEFAULT_TIMEOUT_MS;
}

export async function hasPollers(session: Session, taskQueue: string): Promise<boolean> {
  const answer = await session.client.workflowService.describeTaskQueue({
    namespace: session.target.namespace,
    taskQueue: { name: taskQueue, kind: 1 /* NORMAL */ },
    taskQueueType: 1 /* WORKFLOW: the batch's handlers run in workflow tasks */,
  });
  return (answer.pollers?.length ?? 0) > 0;
}

/**
 * Throws NoWorker, naming the queue and the command that starts a worker for it, when nothing polls it.
 * `consequence` says what that means for the request ("so nothing was done").
 */
export async function requireWorker(session: Session, batch: FoundBatch, consequence: string): Promise<void> {
  if (await hasPollers(session, batch.taskQueue)) return;
  throw new NoWorker(
    `no worker polls task queue '${batch.taskQueue}' of batch ${batch.batchId}, ${consequence}: ` +
      `start one with \`${workerCommandFor(batch.taskQueue)}\`.`,
  );
}

/**
 * Runs `ask` (an Update or a query) with a deadline; past it, throws NoWorker. `afterwards` says what becomes of
 * the request then.
 */
export async function askWorker<T>(
  session: Session,
  batch: FoundBatch,
  ask: () => Promise<T>,
  afterwards = '',
): Promise<T> {
  const ms = answerTimeoutMs();
  try {
    return await session.client.withDeadline(Date.now() + ms, ask);
  } catch (err) {
    if (!(err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) && !isGrpcDeadlineError(err)) throw err;
    throw new NoWorker(
      `no worker answered for batch ${batch.batchId} within ${ms / 1000} s (task queue '${batch.taskQueue}')` +
        `${afterwards}; if no worker runs, start one with \`${workerCommandFor(batch.taskQueue)}\`.`,
    );
  }
}

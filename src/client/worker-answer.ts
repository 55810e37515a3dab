// A running batch (or provider account) answers control requests and queries only through a worker polling its task
// queue.
// Ask the server whether one polls before sending, and give up after a while when none answers, saying so.
import { isGrpcDeadlineError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { NoWorker } from './exit-codes';
import { workerCommandFor } from './provider-queues';
import type { Session } from './session';

const DEFAULT_TIMEOUT_MS = 20_000;

/** What answers through a worker: a batch, or a provider account (`name` is how messages call it). */
export interface Answerer {
  name: string;
  taskQueue: string;
}

/** How long a request waits for a worker's answer (IMAGEBATCH_CONTROL_TIMEOUT_MS, for tests). */
export function answerTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const ms = Number(env.IMAGEBATCH_CONTROL_TIMEOUT_MS);
  return Number.isFinite(ms) && ms > 0 ? ms : DEFAULT_TIMEOUT_MS;
}

/** `activity`: a provider's queue (`<queue>@<provider>`), where only activities are polled. */
export async function hasPollers(
  session: Session,
  taskQueue: string,
  type: 'workflow' | 'activity' = 'workflow',
): Promise<boolean> {
  const answer = await session.client.workflowService.describeTaskQueue({
    namespace: session.target.namespace,
    taskQueue: { name: taskQueue, kind: 1 /* NORMAL */ },
    // WORKFLOW (1): handlers run in workflow tasks; ACTIVITY (2).
    taskQueueType: type === 'workflow' ? 1 : 2,
  });
  return (answer.pollers?.length ?? 0) > 0;
}

/**
 * Throws NoWorker, naming the queue and the command that starts a worker for it, when nothing polls it.
 * `consequence` says what that means for the request ("so nothing was done").
 */
export async function requireWorker(session: Session, target: Answerer, consequence: string): Promise<void> {
  if (await hasPollers(session, target.taskQueue)) return;
  throw new NoWorker(
    `no worker polls task queue '${target.taskQueue}' of ${target.name}, ${consequence}: ` +
      `start one with \`${workerCommandFor(target.taskQueue)}\`.`,
  );
}

/**
 * Runs `ask` (an Update or a query) with a deadline; past it, throws NoWorker. `afterwards` says what becomes of
 * the request then.
 */
export async function askWorker<T>(
  session: Session,
  target: Answerer,
  ask: () => Promise<T>,
  afterwards = '',
  ms = answerTimeoutMs(),
): Promise<T> {
  try {
    return await session.client.withDeadline(Date.now() + ms, ask);
  } catch (err) {
    if (workerGone(err))
      throw new NoWorker(
        `no worker has polled task queue '${target.taskQueue}' of ${target.name} lately, so none answered: ` +
          `start one with \`${workerCommandFor(target.taskQueue)}\`.`,
      );
    if (!(err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) && !isGrpcDeadlineError(err)) throw err;
    throw new NoWorker(
      `no worker answered for ${target.name} within ${ms / 1000} s (task queue '${target.taskQueue}')` +
        `${afterwards}; if no worker runs, start one with \`${workerCommandFor(target.taskQueue)}\`.`,
    );
  }
}

/** The server's own answer to a query no worker can take: FAILED_PRECONDITION, "no poller seen ... recently". */
function workerGone(err: unknown): boolean {
  const cause = (err as { cause?: { code?: number; details?: string } })?.cause;
  return cause?.code === 9 && /no poller seen/i.test(cause.details ?? '');
}

// Sending a control Update to a running batch (cancel, retry, pause, resume, concurrency) and printing its answer,
// or why nothing was done: the batch has finished (exit 1), refused (exit 2), or no worker answers (exit 4).
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { ControlAnswer } from '../shared/messages';
import { type BatchHandle, findBatch, type FoundBatch } from './batch-lookup';
import { EXIT, UsageError } from './exit-codes';
import type { Session } from './session';
import { type Answerer, askWorker, requireWorker } from './worker-answer';

export async function sendControl(
  session: Session,
  batch: FoundBatch,
  send: (h: BatchHandle) => Promise<ControlAnswer>,
): Promise<number> {
  if (!batch.running) return finishedMessage(batch);
  await requireWorker(session, batch, 'so nothing was done');
  return answerControl(session, batch, send);
}

/**
 * Sends the Update to a batch a worker is known to serve (this process's, say), and prints the answer (`print`:
 * stdout by default). `ms`: how long to wait for the answer.
 */
export async function answerControl(
  session: Session,
  batch: FoundBatch,
  send: (h: BatchHandle) => Promise<ControlAnswer>,
  o: { print?: (line: string) => void; ms?: number } = {},
): Promise<number> {
  let answer: ControlAnswer;
  try {
    answer = await sendUpdate(session, batch, () => send(batch.handle), { ms: o.ms });
  } catch (err) {
    // It finished between the look-up and the request.
    if (err instanceof WorkflowNotFoundError) return finishedMessage(await findBatch(session.client, batch.batchId));
    throw err;
  }
  (o.print ?? console.log)(`Batch ${batch.batchId}: ${answer.message}`);
  return EXIT.ok;
}

/**
 * Sends an Update through a worker, with askWorker's deadline (exit 4 past it); a refusal (the validator's or
 * handler's reason) becomes a UsageError (exit 2): `<target> refused: <reason>`.
 */
export async function sendUpdate<T>(
  session: Session,
  target: Answerer,
  send: () => Promise<T>,
  o: { afterwards?: string; ms?: number } = {},
): Promise<T> {
  const afterwards = o.afterwards ?? '; the request may still apply when a worker picks the batch up';
  try {
    return await askWorker(session, target, send, afterwards, o.ms);
  } catch (err) {
    // The reason is the cause's message.
    if (err instanceof WorkflowUpdateFailedError)
      throw new UsageError(`${target.name} refused: ${(err.cause as Error | undefined)?.message ?? err.message}`);
    throw err;
  }
}

function finishedMessage(batch: FoundBatch): number {
  console.error(
    `imagebatch: batch ${batch.batchId} has already finished (${batch.status.toLowerCase()}); nothing was done.`,
  );
  return EXIT.someFailed;
}

/** An Update's item selection: none means the whole batch (cancel) or every failed item (retry). */
export const selection = (items: string[]) => ({ itemIds: items.length ? items : undefined });

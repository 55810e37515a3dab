// Sending a control Update to a running batch (cancel, retry, pause, resume, concurrency) and printing its answer,
// or why nothing was done: the batch has finished (exit 1), refused (exit 2), or no worker answers (exit 4).
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { ControlAnswer } from '../shared/messages';
import { type BatchHandle, findBatch, type FoundBatch } from './batch-lookup';
import { EXIT, UsageError } from './exit-codes';
import type { Session } from './session';
import { askWorker, requireWorker } from './worker-answer';

export async function sendControl(
  session: Session,
  batch: FoundBatch,
  send: (h: BatchHandle) => Promise<ControlAnswer>,
): Promise<number> {
  if (!batch.running) return finishedMessage(batch);
  await requireWorker(session, batch, 'so nothing was done');
  let answer: ControlAnswer;
  try {
    answer = await askWorker(
      session,
      batch,
      () => send(batch.handle),
      '; the request may still apply when a worker picks the batch up',
    );
  } catch (err) {
    // The validator's (or handler's) reason is the cause's message.
    if (err instanceof WorkflowUpdateFailedError)
      throw new UsageError(
        `batch ${batch.batchId} refused: ${(err.cause as Error | undefined)?.message ?? err.message}`,
      );
    // It finished between the look-up and the request.
    if (err instanceof WorkflowNotFoundError) return finishedMessage(await findBatch(session.client, batch.batchId));
    throw err;
  }
  console.log(`Batch ${batch.batchId}: ${answer.message}`);
  return EXIT.ok;
}

function finishedMessage(batch: FoundBatch): number {
  console.error(
    `imagebatch: batch ${batch.batchId} has already finished (${batch.status.toLowerCase()}); nothing was done.`,
  );
  return EXIT.someFailed;
}

/** An Update's item selection: none means the whole batch (cancel) or every failed item (retry). */
export const selection = (items: string[]) => ({ itemIds: items.length ? items : undefined });

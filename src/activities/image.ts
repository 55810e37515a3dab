// The image activities: submit a provider task, collect its image to disk, cancel it.
import { activityInfo, ApplicationFailure, cancellationSignal, heartbeat, log } from '@temporalio/activity';
import { msToNumber } from '@temporalio/common/lib/time';
import { ErrorType } from '../shared/errors';
import type { ProviderClients } from '../providers';
import { invalidRequest, transient } from '../providers/types';
import type {
  CollectImageInput,
  ProviderTaskRef,
  StoredImage,
  SubmitImageInput,
  SubmitImageOutput,
} from '../shared/types';
import { badImage, classified, taskPending, toFailure } from './failures';
import { downloadImage, findExistingImage, ImageRejected, storeImage } from './image-files';
import { loadReferenceImages } from './references';
import { findJournaledTask, forgetTask, journalTask, type SubmitKey } from './task-journal';

/**
 * Heartbeats every 2 s while an activity runs, so a worker that dies mid-call is noticed within the
 * heartbeat timeout (10 s) instead of the start-to-close timeout, and cancellation reaches the activity.
 */
async function withHeartbeats<T>(fn: () => Promise<T>): Promise<T> {
  heartbeat();
  const timer = setInterval(() => heartbeat(), 2000);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

export interface ImageActivityDeps {
  providers: ProviderClients;
  maxImageBytes?: number;
}

export function createImageActivities({ providers, maxImageBytes }: ImageActivityDeps) {
  const submitImage = (input: SubmitImageInput): Promise<SubmitImageOutput> => withHeartbeats(() => submit(input));
  const collectImage = (input: CollectImageInput): Promise<StoredImage> => withHeartbeats(() => collect(input));

  async function submit(input: SubmitImageInput): Promise<SubmitImageOutput> {
    const existing = await findExistingImage(input);
    if (existing) return { existing };
    const info = activityInfo();
    const { workflowId, runId } = info.workflowExecution ?? { workflowId: '', runId: '' };
    const key: SubmitKey = { workflowId, runId, activityId: info.activityId };
    if (info.attempt > 1) {
      const journaled = await findJournaledTask(input.outDir, input.itemId, key);
      if (journaled) {
        log.info('resumed the task an earlier attempt submitted', { itemId: input.itemId, taskId: journaled.taskId });
        return { taskId: journaled.taskId, model: journaled.model };
      }
    }
    let submitted;
    try {
      submitted = await classified(async () => {
        let referenceImages;
        try {
          referenceImages = await loadReferenceImages(input.request.referenceImages);
        } catch (err) {
          throw invalidRequest((err as Error).message);
        }
        return providers[input.provider].submit({ ...input.request, referenceImages }, cancellationSignal());
      });
    } catch (err) {
      // Holding an account slot, the workflow waits for one again rather than this activity retrying.
      if (input.throttledIsAnswer && err instanceof ApplicationFailure && err.type === ErrorType.RateLimited) {
        log.info('throttled by the provider', { itemId: input.itemId, provider: input.provider });
        return { throttled: { retryAfterMs: err.nextRetryDelay == null ? undefined : msToNumber(err.nextRetryDelay) } };
      }
      throw err;
    }
    const { taskId, model } = submitted;
    await journalTask(input.outDir, input.itemId, { key, taskId, model, submittedAt: new Date().toISOString() });
    log.info('submitted', { itemId: input.itemId, provider: input.provider, taskId });
    return { taskId, model };
  }

  /** One poll. While the task runs it throws TaskPending, and the retry policy polls again. */
  async function collect(input: CollectImageInput): Promise<StoredImage> {
    // A previous attempt may have stored the file and died before reporting: the rename made it whole.
    const already = await findExistingImage(input);
    if (already && activityInfo().attempt > 1) {
      await forgetTask(input.outDir, input.itemId);
      return already;
    }
    const status = await classified(() => providers[input.provider].status(input, cancellationSignal()));
    if (status.state === 'failed') throw toFailure(status.error);
    if (status.state !== 'done') throw taskPending(input.taskId, status.state);
    const ref = status.images[0];
    try {
      const data =
        'base64' in ref
          ? Buffer.from(ref.base64, 'base64')
          : await downloadImage(ref.url, maxImageBytes, cancellationSignal());
      const stored = await storeImage(input, data, maxImageBytes);
      await forgetTask(input.outDir, input.itemId);
      return stored;
    } catch (err) {
      if (err instanceof ImageRejected) throw badImage(`task ${input.taskId}: ${err.message}`);
      // A cut connection: the next attempt polls again and downloads again.
      if (!cancellationSignal().aborted)
        throw toFailure(transient(`task ${input.taskId}: download: ${(err as Error).message}`));
      throw err;
    }
  }

  /** Best effort: a task that already finished or vanished needs no cancelling. */
  async function cancelImage(task: ProviderTaskRef): Promise<void> {
    try {
      await providers[task.provider].cancel(task);
    } catch (err) {
      log.warn('provider cancel failed', { taskId: task.taskId, error: (err as Error).message });
    }
  }

  return { submitImage, collectImage, cancelImage };
}

// The image activities: submit a provider task, collect its image to disk, cancel it.
import { activityInfo, ApplicationFailure, cancellationSignal, heartbeat, log } from '@temporalio/activity';
import { msToNumber } from '@temporalio/common/lib/time';
import { ErrorType } from '../shared/errors';
import type { ProviderClients } from '../providers';
import { type ImageRef, invalidRequest, transient } from '../providers/types';
import type {
  CollectImageInput,
  ProviderTaskRef,
  StoredImage,
  SubmitImageInput,
  SubmitImageOutput,
} from '../shared/types';
import { badImage, classified, taskPending, toFailure } from './failures';
import { downloadImage, findExistingImage, ImageRejected, storeImage } from './image-files';
import { writingIn } from './local-storage';
import { loadReferenceImages } from './references';
import { findJournaledTask, forgetTask, journalTask, prepareJournal, type SubmitKey } from './task-journal';

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
    // A folder that cannot even be made (read-only, a file in the way) fails the item before the provider is paid.
    await writingIn(input.outDir, false, () => prepareJournal(input.outDir));
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
    return accepted(input, key, submitted);
  }

  /**
   * The provider has accepted (and charged for) a task: from here nothing may throw, or the activity's retry would
   * submit and pay again. The task travels in the result, which is all the workflow needs; the journal only covers a
   * worker killed before it reports, so a journal that cannot be written is logged, not fatal.
   */
  async function accepted(input: SubmitImageInput, key: SubmitKey, task: { taskId: string; model: string }) {
    const { taskId, model } = task;
    try {
      await journalTask(input.outDir, input.itemId, { key, taskId, model, submittedAt: new Date().toISOString() });
    } catch (err) {
      log.warn('the submitted task could not be journaled; it is kept in the activity result', {
        itemId: input.itemId,
        taskId,
        error: (err as Error).message,
      });
    }
    log.info('submitted', { itemId: input.itemId, provider: input.provider, taskId });
    return { taskId, model };
  }

  /** One poll. While the task runs it throws TaskPending, and the retry policy polls again. */
  async function collect(input: CollectImageInput): Promise<StoredImage> {
    // A previous attempt may have stored the file and died before reporting: the rename made it whole.
    const already = await findExistingImage(input);
    if (already && activityInfo().attempt > 1) {
      await forgetQuietly(input);
      return already;
    }
    const status = await classified(() => providers[input.provider].status(input, cancellationSignal()));
    if (status.state === 'failed') throw toFailure(status.error);
    if (status.state !== 'done') throw taskPending(input.taskId, status.state);
    const ref = status.images[0];
    const data = await imageBytes(input, ref);
    // A full or read-only folder: the image is paid for and cannot be stored; polling or resubmitting cannot help.
    const stored = await writingIn(input.outDir, false, () =>
      storeImage(input, data, maxImageBytes).catch((err: unknown) => {
        throw err instanceof ImageRejected ? badImage(`task ${input.taskId}: ${err.message}`) : err;
      }),
    );
    await forgetQuietly(input);
    return stored;
  }

  /** An entry left behind is harmless (only a retry of the same submit reads it): a stored image does not fail on it. */
  async function forgetQuietly(input: CollectImageInput): Promise<void> {
    await forgetTask(input.outDir, input.itemId).catch((err: unknown) =>
      log.warn('the journal entry could not be removed', { itemId: input.itemId, error: (err as Error).message }),
    );
  }

  async function imageBytes(input: CollectImageInput, ref: ImageRef): Promise<Buffer> {
    if ('base64' in ref) return Buffer.from(ref.base64, 'base64');
    try {
      return await downloadImage(ref.url, maxImageBytes, cancellationSignal());
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

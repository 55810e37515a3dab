// The image activities: submit a provider task, collect its image to disk, cancel it (a synchronous provider's one
// call is image-generate.ts).
import { activityInfo, cancellationSignal, log } from '@temporalio/activity';
import type { ProviderClients } from '../providers';
import { readComfyWorkflowFile } from '../providers/comfyui/workflow-file';
import type { SubmitOptions } from '../providers/types';
import type {
  CollectImageInput,
  ProviderKind,
  ProviderTaskRef,
  StoredImage,
  SubmitImageInput,
  SubmitImageOutput,
} from '../shared/types';
import { submitIsIdempotent } from '../shared/providers';
import { withSource } from '../output/image-metadata';
import { classified, taskPending, toFailure } from './failures';
import { callProvider } from './provider-call';
import { type Checkpoint, withHeartbeats } from './heartbeats';
import { createGenerateActivity } from './image-generate';
import { existingImage, saveImage } from './image-save';
import { writingIn } from './local-storage';
import { asyncClient } from './provider-client';
import {
  findJournaledTask,
  forgetTask,
  heartbeatedTask,
  journalTask,
  prepareJournal,
  type SubmitKey,
} from './task-journal';

export interface ImageActivityDeps {
  providers: ProviderClients;
  maxImageBytes?: number;
}

export function createImageActivities({ providers, maxImageBytes }: ImageActivityDeps) {
  // No heartbeat at the start: the accepted task's own heartbeat is then most often the attempt's first, sent at once.
  const submitImage = (input: SubmitImageInput): Promise<SubmitImageOutput> =>
    withHeartbeats((checkpoint) => submit(input, checkpoint), { beatAtStart: false });
  const collectImage = (input: CollectImageInput): Promise<StoredImage> => withHeartbeats(() => collect(input));

  async function submit(input: SubmitImageInput, checkpoint: Checkpoint): Promise<SubmitImageOutput> {
    const info = activityInfo();
    // The server's copy of a task an earlier attempt submitted comes first, before the output is asked: a bucket
    // that cannot be asked must not keep this attempt from resuming a task already paid for.
    const heartbeated = info.attempt > 1 ? heartbeatedTask(info.heartbeatDetails) : undefined;
    const existing = heartbeated ? undefined : await existingImage(input);
    if (existing) return { existing };
    const client = asyncClient(providers, input.provider, 'submit');
    const { workflowId, runId } = info.workflowExecution ?? { workflowId: '', runId: '' };
    const key: SubmitKey = { workflowId, runId, activityId: info.activityId };
    if (info.attempt > 1) {
      // Then this machine's copy, or the bucket's (a heartbeat that never got out).
      const earlier = heartbeated ?? (await findJournaledTask(input.outDir, input.itemId, key));
      if (earlier) {
        const { taskId, model, submittedAt } = earlier;
        // Heartbeated again, so a retry of this attempt elsewhere finds it too.
        checkpoint({ taskId, model, submittedAt });
        log.info('resumed the task an earlier attempt submitted', { itemId: input.itemId, taskId });
        // This attempt submitted nothing: the ones before it did (each possibly paid).
        return { taskId, model, ...attemptsMade(input.provider, info.attempt - 1) };
      }
    }
    // A folder that cannot even be made (read-only, a file in the way) fails the item before the provider is paid.
    await writingIn(input.outDir, false, () => prepareJournal(input.outDir));
    const submitted = await callProvider(input, (request, workflow) =>
      client.submit(
        request,
        cancellationSignal(),
        submitOptions(key, input.provider === 'comfyui' ? workflow : undefined),
      ),
    );
    if ('throttled' in submitted) return submitted;
    return { ...(await accepted(input, key, submitted, checkpoint)), ...attemptsMade(input.provider, info.attempt) };
  }

  /**
   * An earlier attempt that failed may have been taken by the provider (a 5xx from a gateway that had accepted it;
   * fal takes no idempotency key): the image counts each attempt against its budget share. One: nothing to say.
   */
  function attemptsMade(provider: ProviderKind, n: number): { attempts?: number } {
    // A provider that takes the submit's id (ComfyUI) answered an earlier attempt's job again: one task, however many.
    return n > 1 && !submitIsIdempotent(provider) ? { attempts: n } : {};
  }

  /**
   * The journal's key is the idempotency key (ComfyUI derives its prompt_id from it). An item's own ComfyUI graph is
   * read here, from the path the items reader made absolute: a file gone or broken since is InvalidRequest.
   */
  function submitOptions(key: SubmitKey, workflow: string | undefined): SubmitOptions {
    return {
      idempotencyKey: `${key.workflowId}/${key.runId}/${key.activityId}`,
      ...(workflow ? { workflow: readComfyWorkflowFile(workflow) } : {}),
    };
  }

  /**
   * The provider has accepted (and charged for) a task: from here nothing may throw, or the activity's retry would
   * submit and pay again. The task travels in the result, which is all the workflow needs; the journal only covers a
   * worker lost before it reports. Its heartbeat goes first (the SDK sends it from its own thread, whatever this one
   * does next); the local entry after it cannot fail the submit: one that cannot be written is logged.
   */
  async function accepted(
    input: SubmitImageInput,
    key: SubmitKey,
    task: { taskId: string; model: string },
    checkpoint: Checkpoint,
  ) {
    const { taskId, model } = task;
    const submittedAt = new Date().toISOString();
    checkpoint({ taskId, model, submittedAt });
    try {
      await journalTask(input.outDir, input.itemId, { key, taskId, model, submittedAt });
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
    // Polling the same task again pays nothing, so a bucket that is busy or briefly unreachable is waited for; but not
    // up to the max wait, which the workflow would take for the task's and submit the image again (paying twice).
    const retryBucket = roomForAnotherAttempt();
    // A previous attempt may have stored the file and died before reporting: the rename made it whole.
    const already = await existingImage(input, retryBucket);
    if (already && activityInfo().attempt > 1) {
      await forgetQuietly(input);
      return already;
    }
    const client = asyncClient(providers, input.provider, 'status');
    const status = await classified(() => client.status(input, cancellationSignal()));
    if (status.state === 'failed') throw toFailure(status.error);
    if (status.state !== 'done') throw taskPending(input.taskId, status.state);
    const stored = await saveImage(input, status.images[0], `task ${input.taskId}`, {
      maxImageBytes,
      meta: withSource(input.meta, input),
      retryBucket,
    });
    await forgetQuietly(input);
    return stored;
  }

  /**
   * Whether the server will run another attempt well before this activity's schedule-to-close deadline (the item's
   * max wait): two attempts' time left, room for the retry's interval and a whole attempt.
   */
  function roomForAnotherAttempt(): boolean {
    const { scheduledTimestampMs, scheduleToCloseTimeoutMs, startToCloseTimeoutMs } = activityInfo();
    if (!scheduleToCloseTimeoutMs) return true;
    return scheduledTimestampMs + scheduleToCloseTimeoutMs - Date.now() > 2 * startToCloseTimeoutMs;
  }

  /** An entry left behind is harmless (only a retry of the same submit reads it): a stored image does not fail on it. */
  async function forgetQuietly(input: CollectImageInput): Promise<void> {
    await forgetTask(input.outDir, input.itemId).catch((err: unknown) =>
      log.warn('the journal entry could not be removed', { itemId: input.itemId, error: (err as Error).message }),
    );
  }

  /** Best effort: a task that already finished or vanished needs no cancelling. */
  async function cancelImage(task: ProviderTaskRef): Promise<void> {
    const client = asyncClient(providers, task.provider, 'cancel');
    try {
      await client.cancel(task);
    } catch (err) {
      log.warn('provider cancel failed', { taskId: task.taskId, error: (err as Error).message });
    }
  }

  const generateImage = createGenerateActivity({ providers, maxImageBytes });
  return { submitImage, collectImage, cancelImage, generateImage };
}

// One image's life: submit -> durable timer for the expected latency -> collect (its retry policy is the poll
// loop, so history does not grow with the time a task takes) -> file on disk. Moderation rejections simplify
// the prompt; lost, failed or timed-out tasks are resubmitted within the retry budget.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  setCurrentDetails,
  sleep,
  TimeoutFailure,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { AccountSlot } from './account-slot';
import { imageActivities, openAccountActivity } from './image-activities';
import { ProviderFallback } from './image-providers';
import { IMAGE_FAILED } from '../shared/child-results';
import { backoffMs } from '../shared/backoff';
import { ErrorType, failureMeaning } from '../shared/errors';
import { imageFinishedSignal } from '../shared/messages';
import { asMarkdownText } from '../shared/markdown';
import { cleanPrompt, simplifyPrompt } from '../shared/prompt';
import { isSyncProvider, takesSeed } from '../shared/providers';
import { ImageBatchId, ImageProvider, ImageState } from '../shared/search-attributes';
import type {
  ImageMetadata,
  ImageRequestSpec,
  ImageResult,
  ImageState as State,
  ImageWorkflowInput,
  ProviderKind,
  ProviderTaskRef,
} from '../shared/types';

/** The failure's type for the decisions below: an ApplicationFailure type, or MaxWaitExceeded for timeouts. */
export function classify(err: unknown): { type: string; message: string } {
  if (err instanceof ActivityFailure) {
    // A single-attempt activity (a synchronous provider's call) whose worker stopped heartbeating: the worker died
    // or lost the server, not the provider's fault, and well within the max wait. (Retried activities never get here
    // with a heartbeat timeout: the server retries them.)
    if (err.cause instanceof TimeoutFailure && err.cause.timeoutType === 'HEARTBEAT' && err.retryState !== 'TIMEOUT')
      return { type: ErrorType.Transient, message: 'the worker making the call stopped answering (heartbeat timeout)' };
    // The max wait ran out. When the next retry would start past the deadline, the server stops there and
    // reports the last attempt's failure (e.g. TaskPending) with retry state TIMEOUT instead of a TimeoutFailure.
    if (err.cause instanceof TimeoutFailure || err.retryState === 'TIMEOUT') {
      const last = err.cause instanceof TimeoutFailure ? err.cause.cause?.message : err.cause?.message;
      return {
        type: ErrorType.MaxWaitExceeded,
        message: `no result within the max wait${last ? ` (last error: ${last})` : ''}`,
      };
    }
    if (err.cause instanceof ApplicationFailure) return { type: err.cause.type ?? 'Error', message: err.cause.message };
    return { type: 'Error', message: err.cause?.message ?? err.message };
  }
  if (err instanceof ApplicationFailure) return { type: err.type ?? 'Error', message: err.message };
  return { type: 'Error', message: err instanceof Error ? err.message : String(err) };
}

function setState(state: State) {
  upsertSearchAttributes([{ key: ImageState, value: state }]);
}

async function report(reportTo: string | undefined, result: ImageResult): Promise<void> {
  if (!reportTo) return;
  try {
    // Not cancellable: a cancel that lands while the result is being reported would cancel the signal, and the
    // batch would wait for this item forever.
    await CancellationScope.nonCancellable(() =>
      getExternalWorkflowHandle(reportTo).signal(imageFinishedSignal, result),
    );
  } catch {
    // The batch has closed (finished or terminated): nobody is left to tell.
  }
}

/** Best effort: a cancel that no worker of the provider picks up in time must not keep the image from ending. */
async function cancelQuietly(activities: ReturnType<typeof imageActivities>, task: ProviderTaskRef): Promise<void> {
  await activities.cancelImage(task).catch(() => undefined);
}

/** The image's slot of its first provider's account: the batch opened it, or the image opens it itself. */
async function imageSlot(input: ImageWorkflowInput, provider: ProviderKind, providerQueues: boolean) {
  const who = { batchId: input.batchId, itemId: input.item.id };
  if (input.account && patched('account-slots'))
    return new AccountSlot(input.account, who, providerQueues ? openAccountActivity(provider, true) : undefined);
  if (input.openAccount && providerQueues) {
    setCurrentDetails(`**${asMarkdownText(input.item.id)}** · waiting for a worker that serves ${provider}`);
    const open = openAccountActivity(provider, true);
    return new AccountSlot(await open(), who, open);
  }
  return undefined;
}

export async function imageWorkflow(input: ImageWorkflowInput): Promise<ImageResult> {
  const { item, policy } = input;
  // What the provider gets of the item: all but where the result goes and how the item is run.
  const {
    id: _id,
    filename: _filename,
    provider: _provider,
    policy: _policy,
    n: _n,
    seeds: _seeds,
    group: _group,
    variant: _variant,
    ...providerRequest
  } = item;
  // Patched: histories recorded before provider queues scheduled the provider's activities on the workflow's queue.
  const providerQueues = patched('provider-queues');
  const fallback = new ProviderFallback(
    input.providers?.length ? input.providers : [input.provider],
    input.fallbackOnModeration,
  );
  let provider = fallback.current;
  let activities = imageActivities(policy, provider, providerQueues);
  const target = { outDir: input.outDir, itemId: item.id, filename: item.filename };
  const result: ImageResult = { itemId: item.id, status: 'failed', provider, attempts: 0, prompts: [] };
  const originalPrompt = cleanPrompt(item.prompt);
  let prompt = originalPrompt;
  result.prompts.push(prompt);
  let seed = item.seed;
  let retriesLeft = policy.retries;
  let simplificationsLeft = policy.simplifications;
  let task: ProviderTaskRef | undefined;
  /** Workflow time of the first throttle in a row on this provider (a fallback moves on past the max wait). */
  let throttledSince: number | undefined;
  // Patched: histories recorded before accounts existed took no slot.
  const slot = await imageSlot(input, provider, providerQueues);

  upsertSearchAttributes([
    { key: ImageBatchId, value: input.batchId },
    { key: ImageProvider, value: provider },
    { key: ImageState, value: 'submitted' },
  ]);

  /** The seed that made the image: none for "any seed" (-1), nor for a provider whose API takes none. */
  const seedUsed = (s: number | undefined) => (s !== undefined && s >= 0 && takesSeed(provider) ? s : undefined);

  /** What the image file records of how it was made (the activity adds provider, model and task id). */
  const metadata = (request: ImageRequestSpec): ImageMetadata => ({
    batchId: input.batchId,
    itemId: item.id,
    prompt: request.prompt,
    ...(request.negativePrompt ? { negativePrompt: request.negativePrompt } : {}),
    prompts: [...result.prompts],
    ...(seedUsed(request.seed) !== undefined ? { seed: request.seed } : {}),
    ...(request.width ? { width: request.width, height: request.height } : {}),
  });

  const finish = async (): Promise<ImageResult> => {
    result.provider = provider;
    const tried = fallback.tried(
      result.status === 'succeeded' ? undefined : { errorType: result.errorType, reason: result.error },
    );
    if (tried) result.tried = tried;
    // The slot goes back first, so the next image of the account starts as soon as possible; the report goes out
    // in the same workflow task.
    const released = slot?.release();
    setState(result.status);
    await Promise.all([released, report(input.reportTo, result)]);
    if (result.status === 'failed') {
      throw ApplicationFailure.create({
        type: IMAGE_FAILED,
        message: result.error,
        nonRetryable: true,
        details: [result],
      });
    }
    return result;
  };

  const succeeded = (stored: { file: string; sha256: string; bytes: number }, skipped = false) => {
    Object.assign(result, { status: 'succeeded', file: stored.file, sha256: stored.sha256, bytes: stored.bytes });
    if (skipped) result.skipped = true;
    else if (seedUsed(seed) !== undefined) result.seed = seed;
    result.error = undefined;
    result.errorType = undefined;
    return finish();
  };

  /**
   * Fallback: the next provider, with its own retries and simplifications (and its own account's slot). The slot
   * held here goes back first (`throttled`: the provider refused it for its limit, which teaches its account), so
   * waiting for a worker of the next provider never holds this one's account.
   */
  const moveOn = async (errorType: string, reason: string, throttled = false) => {
    await slot?.release({ throttled });
    provider = fallback.next(errorType, reason);
    activities = imageActivities(policy, provider, providerQueues);
    retriesLeft = policy.retries;
    simplificationsLeft = policy.simplifications;
    throttledSince = undefined;
    task = undefined;
    // Another provider's moderation may take what this one refused: it gets the prompt as written.
    if (errorType === ErrorType.ContentRejected && prompt !== originalPrompt) {
      prompt = originalPrompt;
      result.prompts.push(prompt);
    }
    upsertSearchAttributes([{ key: ImageProvider, value: provider }]);
    if (slot) {
      setCurrentDetails(`**${asMarkdownText(item.id)}** · waiting for a worker that serves ${provider}`);
      const open = openAccountActivity(provider, providerQueues);
      await slot.moveTo(await open(), open);
    }
  };

  try {
    for (;;) {
      try {
        const request = { ...providerRequest, prompt, seed };
        if (input.maxSubmissions !== undefined && (result.tasks ?? 0) >= input.maxSubmissions) {
          // The batch's budget is money: stop here; the batch queues the item again for when there is more.
          Object.assign(result, { status: 'cancelled', errorType: ErrorType.BudgetReached });
          result.error = `its share of the batch's submission budget (${input.maxSubmissions}) is spent`;
          return await finish();
        }
        if (slot && !slot.held) {
          setState('waiting');
          setCurrentDetails(`**${asMarkdownText(item.id)}** · waiting for a slot of ${asMarkdownText(slot.label)}`);
          await slot.acquire();
        }
        const sync = isSyncProvider(provider);
        const throttleAnswer = slot ? { throttledIsAnswer: true } : {};
        if (sync) {
          setState('generating');
          setCurrentDetails(
            `**${asMarkdownText(item.id)}** · ${provider} · attempt ${result.attempts + 1}` +
              `\n\nprompt: ${asMarkdownText(prompt)}`,
          );
        }
        // Not cancellable: once a provider task exists this workflow must know it, to cancel it. A synchronous
        // call has no task: cancelling it abandons the call.
        const submitted = sync
          ? await activities.generateImage({ ...target, provider, request, meta: metadata(request), ...throttleAnswer })
          : await CancellationScope.nonCancellable(() =>
              activities.submitImage({ ...target, provider, request, ...throttleAnswer }),
            );
        if ('throttled' in submitted) {
          // The provider's limit, not this item's fault: wait for a slot again; the max wait starts at the submit.
          // With a provider to fall back to, a limit that lasts past the max wait is one this provider cannot serve.
          throttledSince ??= Date.now();
          if (fallback.hasNext && Date.now() - throttledSince >= policy.maxWaitMs) {
            const why = `rate limited for longer than the max wait (${policy.maxWaitMs} ms)`;
            await moveOn(ErrorType.RateLimited, why, true);
            continue;
          }
          await slot?.throttled(submitted.throttled.retryAfterMs);
          continue;
        }
        throttledSince = undefined;
        if ('existing' in submitted) return await succeeded(submitted.existing, true);
        result.attempts++;
        result.tasks = (result.tasks ?? 0) + 1;
        slot?.noteSubmitted();
        if ('stored' in submitted) {
          result.model = submitted.model;
          return await succeeded(submitted.stored);
        }
        task = { provider, taskId: submitted.taskId, model: submitted.model };
        result.providerTaskId = task.taskId;
        result.model = task.model;
        if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('cancelled during submit');
        setState('generating');
        setCurrentDetails(
          `**${asMarkdownText(item.id)}** · ${provider} task ${asMarkdownText(task.taskId)} · attempt ${result.attempts}` +
            `\n\nprompt: ${asMarkdownText(prompt)}`,
        );
        await sleep(policy.expectedLatencyMs);
        return await succeeded(await activities.collectImage({ ...target, ...task, meta: metadata(request) }));
      } catch (err) {
        if (isCancellation(err)) throw err;
        const { type, message } = classify(err);
        result.error = message;
        result.errorType = type;
        // Moderation refused the submit itself: a submission all the same (the item reported "attempts 0").
        if (!task && type === ErrorType.ContentRejected) result.attempts++;
        // A synchronous call that failed after the provider may have done the work (an empty or unusable answer,
        // a cut connection, a dead worker) may be billed: it counts against the budget like an accepted task.
        else if (isSyncProvider(provider) && failureMeaning(type).billed) {
          result.attempts++;
          result.tasks = (result.tasks ?? 0) + 1;
        }
        if (type === ErrorType.ContentRejected) {
          const simpler = simplifyPrompt(prompt);
          if (simplificationsLeft > 0 && simpler !== prompt) {
            simplificationsLeft--;
            prompt = simpler;
            result.prompts.push(prompt);
            task = undefined;
            continue;
          }
          if (fallback.movesOn(type, true)) {
            await moveOn(type, message);
            continue;
          }
          result.error = `moderation rejected the prompt and simplification could not help: ${message}`;
          return await finish();
        }
        // Lost, failed, unusable or overdue: free the provider's slot before anything else.
        if (task && type === ErrorType.MaxWaitExceeded) await cancelQuietly(activities, task);
        task = undefined;
        if (fallback.movesOn(type, retriesLeft <= 0)) {
          await moveOn(type, message);
          continue;
        }
        // Nothing a resubmission would fix; a full disk must not burn paid submissions either.
        if (failureMeaning(type).resubmit === 'never') return await finish();
        if (retriesLeft <= 0) {
          result.error = `${message} (gave up after ${policy.retries} retries)`;
          return await finish();
        }
        retriesLeft--;
        // A synchronous provider's call is retried here, not by its activity: with the activity's backoff.
        if (isSyncProvider(provider)) await sleep(backoffMs(policy.retries - retriesLeft));
        // A retryable output rejection (Volcengine 50511/50519) wants a new seed before anything else.
        if (failureMeaning(type).resubmit === 'new-seed' && seed !== undefined) seed++;
      }
    }
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => {
        if (task) await cancelQuietly(activities, task);
        await slot?.release();
        result.status = 'cancelled';
        result.error = 'cancelled';
        result.provider = provider;
        setState('cancelled');
        await report(input.reportTo, result);
      });
    }
    throw err;
  }
}

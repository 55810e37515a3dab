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
  proxyActivities,
  setCurrentDetails,
  sleep,
  TimeoutFailure,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { AccountSlot } from './account-slot';
import { IMAGE_FAILED } from '../shared/child-results';
import { ErrorType, NON_RETRYABLE_ERRORS } from '../shared/errors';
import { imageFinishedSignal } from '../shared/messages';
import { asMarkdownText } from '../shared/markdown';
import { cleanPrompt, simplifyPrompt } from '../shared/prompt';
import { ImageBatchId, ImageProvider, ImageState } from '../shared/search-attributes';
import type {
  ImagePolicy,
  ImageResult,
  ImageState as State,
  ImageWorkflowInput,
  ProviderTaskRef,
} from '../shared/types';

const MAX_WAIT_EXCEEDED = 'MaxWaitExceeded';

function activitiesFor(policy: ImagePolicy) {
  const nonRetryableErrorTypes = [...NON_RETRYABLE_ERRORS];
  const submit = proxyActivities<Activities>({
    startToCloseTimeout: '60s',
    heartbeatTimeout: '10s',
    // Transient errors and 429s are retried with backoff, but never longer than the item's max wait.
    scheduleToCloseTimeout: policy.maxWaitMs,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes },
  });
  const collect = proxyActivities<Activities>({
    startToCloseTimeout: '120s',
    heartbeatTimeout: '10s',
    scheduleToCloseTimeout: Math.max(policy.maxWaitMs - policy.expectedLatencyMs, 2 * policy.pollIntervalMs),
    retry: {
      initialInterval: policy.pollIntervalMs,
      backoffCoefficient: 1,
      maximumInterval: policy.pollIntervalMs,
      nonRetryableErrorTypes,
    },
  });
  const cleanup = proxyActivities<Activities>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 3 } });
  return { submitImage: submit.submitImage, collectImage: collect.collectImage, cancelImage: cleanup.cancelImage };
}

/** The failure's type for the decisions below: an ApplicationFailure type, or MaxWaitExceeded for timeouts. */
export function classify(err: unknown): { type: string; message: string } {
  if (err instanceof ActivityFailure) {
    // The max wait ran out. When the next retry would start past the deadline, the server stops there and
    // reports the last attempt's failure (e.g. TaskPending) with retry state TIMEOUT instead of a TimeoutFailure.
    if (err.cause instanceof TimeoutFailure || err.retryState === 'TIMEOUT') {
      const last = err.cause instanceof TimeoutFailure ? err.cause.cause?.message : err.cause?.message;
      return {
        type: MAX_WAIT_EXCEEDED,
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

export async function imageWorkflow(input: ImageWorkflowInput): Promise<ImageResult> {
  const { item, policy, provider } = input;
  // What the provider gets of the item: all but where the result goes and how the item is run.
  const { id: _id, filename: _filename, provider: _provider, policy: _policy, ...providerRequest } = item;
  const { submitImage, collectImage, cancelImage } = activitiesFor(policy);
  const target = { outDir: input.outDir, itemId: item.id, filename: item.filename };
  const result: ImageResult = { itemId: item.id, status: 'failed', provider, attempts: 0, prompts: [] };
  let prompt = cleanPrompt(item.prompt);
  result.prompts.push(prompt);
  let seed = item.seed;
  let retriesLeft = policy.retries;
  let simplificationsLeft = policy.simplifications;
  let task: ProviderTaskRef | undefined;
  // Patched: histories recorded before accounts existed took no slot.
  const slot =
    input.account && patched('account-slots')
      ? new AccountSlot(input.account, { batchId: input.batchId, itemId: item.id })
      : undefined;

  upsertSearchAttributes([
    { key: ImageBatchId, value: input.batchId },
    { key: ImageProvider, value: provider },
    { key: ImageState, value: 'submitted' },
  ]);

  const finish = async (): Promise<ImageResult> => {
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
        // Not cancellable: once a provider task exists this workflow must know it, to cancel it.
        const submitted = await CancellationScope.nonCancellable(() =>
          submitImage({ ...target, provider, request, ...(slot ? { throttledIsAnswer: true } : {}) }),
        );
        if ('throttled' in submitted) {
          // The provider's limit, not this item's fault: wait for a slot again; the max wait starts at the submit.
          await slot?.throttled(submitted.throttled.retryAfterMs);
          continue;
        }
        if ('existing' in submitted) {
          Object.assign(result, { status: 'succeeded', skipped: true, file: submitted.existing.file });
          Object.assign(result, { sha256: submitted.existing.sha256, bytes: submitted.existing.bytes });
          return await finish();
        }
        result.attempts++;
        result.tasks = (result.tasks ?? 0) + 1;
        slot?.noteSubmitted();
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
        const stored = await collectImage({ ...target, ...task });
        Object.assign(result, { status: 'succeeded', file: stored.file, sha256: stored.sha256, bytes: stored.bytes });
        result.error = undefined;
        result.errorType = undefined;
        return await finish();
      } catch (err) {
        if (isCancellation(err)) throw err;
        const { type, message } = classify(err);
        result.error = message;
        result.errorType = type;
        // Moderation refused the submit itself: a submission all the same (the item reported "attempts 0").
        if (!task && type === ErrorType.ContentRejected) result.attempts++;
        if (type === ErrorType.ContentRejected) {
          const simpler = simplifyPrompt(prompt);
          if (simplificationsLeft > 0 && simpler !== prompt) {
            simplificationsLeft--;
            prompt = simpler;
            result.prompts.push(prompt);
            task = undefined;
            continue;
          }
          result.error = `moderation rejected the prompt and simplification could not help: ${message}`;
          return await finish();
        }
        // Nothing a resubmission would fix; a full disk must not burn paid submissions either.
        if (([ErrorType.InvalidRequest, ErrorType.AuthFailed, ErrorType.LocalStorage] as string[]).includes(type))
          return await finish();
        // Lost, failed, unusable or overdue: free the provider's slot, then resubmit within the budget.
        if (task && type === MAX_WAIT_EXCEEDED) await cancelImage(task);
        task = undefined;
        if (retriesLeft <= 0) {
          result.error = `${message} (gave up after ${policy.retries} retries)`;
          return await finish();
        }
        retriesLeft--;
        // A retryable output rejection (Volcengine 50511/50519) wants a new seed before anything else.
        if (type === ErrorType.OutputRejected && seed !== undefined) seed++;
      }
    }
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => {
        if (task) await cancelImage(task);
        await slot?.release();
        result.status = 'cancelled';
        result.error = 'cancelled';
        setState('cancelled');
        await report(input.reportTo, result);
      });
    }
    throw err;
  }
}

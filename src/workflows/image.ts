// One image's life: submit -> durable timer for the expected latency -> collect (its retry policy is the poll
// loop, so history does not grow with the time a task takes) -> file on disk. Moderation rejections simplify
// the prompt; lost, failed or timed-out tasks are resubmitted within the retry budget. What comes next is decided
// by ImageLedger; this file does the I/O: activities, timers, the account slot, search attributes, the report.
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
import { LeasedSlot } from './account-leased-slot';
import { AccountSlot } from './account-slot';
import { ACCOUNT_QUEUES, imageActivities, openAccountActivity } from './image-activities';
import { ImageLedger } from './image-ledger';
import { namedAccount } from '../shared/account-queues';
import type { AccountRef } from '../shared/accounts';
import { IMAGE_FAILED } from '../shared/child-results';
import { ErrorType } from '../shared/errors';
import { imageFinishedSignal } from '../shared/messages';
import { asMarkdownText } from '../shared/markdown';
import { isSyncProvider } from '../shared/providers';
import { ImageBatchId, ImageProvider, ImageState } from '../shared/search-attributes';
import type {
  CollectImageInput,
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

/**
 * The image's slot of its first provider's account: the batch opened (or named) it, or the image opens it itself.
 * `accountQueues`: the slot's account is opened again on its own queue, by its own workers.
 */
async function imageSlot(
  input: ImageWorkflowInput,
  provider: ProviderKind,
  accountQueues: boolean,
): Promise<Slot | undefined> {
  const who = { batchId: input.batchId, itemId: input.item.id };
  const reopen = (account: AccountRef) => openAccountActivity(provider, accountQueues ? account : undefined);
  // The batch's lease: the slot comes from the batch, and goes back with the image's report.
  if (input.account && input.lease && input.reportTo)
    return new LeasedSlot(input.account, input.reportTo, input.item.id, input.lease.held);
  if (input.account) return new AccountSlot(input.account, who, reopen(input.account));
  if (input.openAccount) {
    setCurrentDetails(`**${asMarkdownText(input.item.id)}** · waiting for a worker that serves ${provider}`);
    const named = accountQueues ? namedAccount(input.accounts, provider) : undefined;
    const account = await openAccountActivity(provider, named)();
    return new AccountSlot(account, who, reopen(account));
  }
  return undefined;
}

/** A slot of an account: the image's own (asked of the account), or one of its batch's lease. */
type Slot = AccountSlot | LeasedSlot;

/** Gives an image's own slot back to its account; a leased one goes back with the image's report, unsaid. */
async function releaseOwn(slot: Slot | undefined, o?: { throttled?: boolean }): Promise<void> {
  if (slot instanceof AccountSlot) await slot.release(o);
}

/** What the image's I/O works with: its decisions, its provider's activities, its account slot. */
interface ImageRun {
  readonly input: ImageWorkflowInput;
  readonly ledger: ImageLedger;
  /** Replaced when a leased image falls back to another provider (it asks that account alone). */
  slot: Slot | undefined;
  /** The provider's activities run on the slot's account's queue (patched: ACCOUNT_QUEUES). */
  readonly accountQueues: boolean;
  activities: ReturnType<typeof imageActivities>;
}

export async function imageWorkflow(input: ImageWorkflowInput): Promise<ImageResult> {
  const ledger = new ImageLedger(input);
  // Asked once, at the start: an image that started before the change keeps its old queues for its whole life.
  // An image of a batch's lease is new code (batches lease since 0.2.1, which has the account queues too): no marker.
  const accountQueues = input.lease ? true : patched(ACCOUNT_QUEUES);
  const slot = await imageSlot(input, ledger.provider, accountQueues);
  const activities = imageActivities(input.policy, ledger.provider, accountQueues ? slot?.ref : undefined);
  const run: ImageRun = { input, ledger, slot, accountQueues, activities };
  // A leased image was started with these attributes by its batch (its state too: submitted, or waiting for a slot).
  if (!input.lease)
    upsertSearchAttributes([
      { key: ImageBatchId, value: input.batchId },
      { key: ImageProvider, value: ledger.provider },
      { key: ImageState, value: 'submitted' },
    ]);
  try {
    for (;;) {
      try {
        if (await attempt(run)) return await finish(run);
      } catch (err) {
        if (isCancellation(err)) throw err;
        const { type, message } = classify(err);
        const next = ledger.afterFailure(type, message);
        if (next.cancel) await cancelQuietly(run.activities, next.cancel);
        if (next.do === 'finish') return await finish(run);
        if (next.do === 'move-on') await moveOn(run, type, message);
        else if (next.waitMs !== undefined) await sleep(next.waitMs);
      }
    }
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => {
        if (ledger.task) await cancelQuietly(run.activities, ledger.task);
        await releaseOwn(run.slot);
        const result = ledger.cancelled();
        setState('cancelled');
        await report(input.reportTo, result);
      });
    }
    throw err;
  }
}

/** One submission, or a wait for the provider's limit: true once the image has ended (made, found, or budget). */
async function attempt(run: ImageRun): Promise<boolean> {
  const { input, ledger, slot } = run;
  if (ledger.budgetSpent()) return true;
  const request = ledger.request();
  const target = { outDir: ledger.outDir, itemId: input.item.id, filename: input.item.filename };
  const provider = ledger.provider;
  if (slot && !slot.held) {
    // A leased image started waiting shows so already.
    if (!(slot instanceof LeasedSlot && slot.firstWait())) setState('waiting');
    setCurrentDetails(`**${asMarkdownText(input.item.id)}** · waiting for a slot of ${asMarkdownText(slot.label)}`);
    await slot.acquire();
  }
  // import-tasks: the task another tool paid for is collected, never submitted again. (A new optional input: an
  // image without it runs the same commands as before, so no patch.)
  const adopted = ledger.takeAdopted();
  if (adopted) return collect(run, adopted, { ...target, meta: ledger.metadata(request) });
  const sync = isSyncProvider(provider);
  const throttleAnswer = slot ? { throttledIsAnswer: true } : {};
  if (sync) {
    setState('generating');
    showWork(input, `${provider} · attempt ${ledger.result.attempts + 1}`, ledger.prompt);
  }
  // Not cancellable: once a provider task exists this workflow must know it, to cancel it. A synchronous
  // call has no task: cancelling it abandons the call.
  const answer = sync
    ? await run.activities.generateImage({
        ...target,
        provider,
        request,
        meta: ledger.metadata(request),
        ...throttleAnswer,
      })
    : await CancellationScope.nonCancellable(() =>
        run.activities.submitImage({ ...target, provider, request, ...throttleAnswer }),
      );
  if ('throttled' in answer) {
    // The provider's limit: wait for a slot again (the max wait starts at the submit), or move on past it.
    const why = ledger.throttled(Date.now());
    if (why) await moveOn(run, ErrorType.RateLimited, why, true);
    else await slot?.throttled(answer.throttled.retryAfterMs);
    return false;
  }
  if (!('existing' in answer)) slot?.noteSubmitted();
  const task = ledger.answered(answer);
  if (!task) return true;
  if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('cancelled during submit');
  return collect(run, task, { ...target, meta: ledger.metadata(request) });
}

/** Waits for the provider task and stores its image (the collect activity's retries are the poll loop). */
async function collect(run: ImageRun, task: ProviderTaskRef, target: Omit<CollectImageInput, keyof ProviderTaskRef>) {
  const { input, ledger } = run;
  setState('generating');
  showWork(
    input,
    `${task.provider} task ${asMarkdownText(task.taskId)} · attempt ${ledger.result.attempts}`,
    ledger.prompt,
  );
  await sleep(input.policy.expectedLatencyMs);
  ledger.succeeded(await run.activities.collectImage({ ...target, ...task }));
  return true;
}

/** The Web UI's details while the image works: which provider, which attempt, the prompt. */
function showWork(input: ImageWorkflowInput, what: string, prompt: string): void {
  setCurrentDetails(`**${asMarkdownText(input.item.id)}** · ${what}\n\nprompt: ${asMarkdownText(prompt)}`);
}

/**
 * Fallback: the next provider, with its own retries and simplifications (and its own account's slot). The slot
 * held here goes back first (`throttled`: the provider refused it for its limit, which teaches its account), so
 * waiting for a worker of the next provider never holds this one's account.
 */
async function moveOn(run: ImageRun, errorType: string, reason: string, throttled = false): Promise<void> {
  const { input, ledger } = run;
  const slot = run.slot;
  if (slot instanceof LeasedSlot) await slot.leave({ throttled });
  else await slot?.release({ throttled });
  const provider = ledger.moveOn(errorType, reason);
  run.activities = imageActivities(input.policy, provider);
  upsertSearchAttributes([{ key: ImageProvider, value: provider }]);
  if (slot) {
    setCurrentDetails(`**${asMarkdownText(input.item.id)}** · waiting for a worker that serves ${provider}`);
    if (!run.accountQueues && slot instanceof AccountSlot) {
      const open = openAccountActivity(provider);
      await slot.moveTo(await open(), open);
      return;
    }
    // The account the batch named for this provider, on its own queue; else whichever worker of it answers first.
    const named = namedAccount(input.accounts, provider);
    const account = await openAccountActivity(provider, named)();
    // Off its batch's lease: on the next provider the image asks that account for its own slot.
    if (slot instanceof LeasedSlot)
      run.slot = new AccountSlot(account, { batchId: input.batchId, itemId: input.item.id }, () =>
        openAccountActivity(provider, account)(),
      );
    else await slot.moveTo(account, openAccountActivity(provider, account));
    run.activities = imageActivities(input.policy, provider, account);
  }
}

/** The image ends: its slot goes back, the batch hears of it; a failed image fails its workflow. */
async function finish({ input, ledger, slot }: ImageRun): Promise<ImageResult> {
  const result = ledger.final();
  // The slot goes back first, so the next image of the account starts as soon as possible; the report goes out
  // in the same workflow task (a leased slot goes back with the report itself).
  const released = releaseOwn(slot);
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
}

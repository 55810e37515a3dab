// One image's state and its rules, in a plain class (no Temporal calls), as BatchLedger is the batch's: the result,
// the prompts and the seed tried, the retries and simplifications left, the provider fallback, the budget share,
// and after each failure what comes next. imageWorkflow does the I/O (activities, timers, the account slot).
import { backoffMs } from '../shared/backoff';
import { ErrorType, failureMeaning } from '../shared/errors';
import { cleanPrompt, simplifyPrompt } from '../shared/prompt';
import { isSyncProvider, takesSeed } from '../shared/providers';
import type {
  GenerateImageOutput,
  ImageMetadata,
  ImageRequestSpec,
  ImageResult,
  ImageWorkflowInput,
  ProviderKind,
  ProviderTaskRef,
  StoredImage,
  SubmitImageOutput,
} from '../shared/types';
import { ProviderFallback } from './image-providers';

/** What the provider answered a submit or a synchronous call with, short of a throttle. */
export type ProviderAnswer = Exclude<SubmitImageOutput | GenerateImageOutput, { throttled: unknown }>;

/**
 * What the image does after a failure: `simplify` (submit again now, the prompt simpler), `retry` (submit again,
 * after `waitMs` if given), `move-on` (to the next provider), `finish` (the image has failed). `cancel`: the
 * provider task to cancel first (overdue: it would hold the provider's slot).
 */
export type NextStep = { do: 'simplify' | 'move-on' | 'finish' | 'retry'; waitMs?: number; cancel?: ProviderTaskRef };

export class ImageLedger {
  readonly result: ImageResult;
  /** What the provider gets of the item: all but where the result goes and how the item is run. */
  private readonly providerRequest: Omit<ImageRequestSpec, 'prompt' | 'seed'>;
  private readonly fallback: ProviderFallback;
  private readonly originalPrompt: string;
  private current: string;
  private seed: number | undefined;
  private retriesLeft: number;
  private simplificationsLeft: number;
  /** The provider task this image waits for (undefined before its submit and once it has ended). */
  private pendingTask: ProviderTaskRef | undefined;
  /** Workflow time of the first throttle in a row on this provider (a fallback moves on past the max wait). */
  private throttledSince: number | undefined;
  /** import-tasks: the task another tool submitted, collected first (undefined once it has been taken up). */
  private adoptable: ProviderTaskRef | undefined;

  constructor(private readonly input: ImageWorkflowInput) {
    const { item, policy } = input;
    const {
      id: _id,
      filename: _filename,
      provider: _provider,
      policy: _policy,
      n: _n,
      seeds: _seeds,
      group: _group,
      variant: _variant,
      prompt: _prompt,
      seed: _seed,
      adopt,
      ...providerRequest
    } = item;
    this.providerRequest = providerRequest;
    this.fallback = new ProviderFallback(
      input.providers?.length ? input.providers : [input.provider],
      input.fallbackOnModeration,
    );
    this.originalPrompt = cleanPrompt(item.prompt);
    this.current = this.originalPrompt;
    this.seed = item.seed;
    this.retriesLeft = policy.retries;
    this.simplificationsLeft = policy.simplifications;
    this.result = { itemId: item.id, status: 'failed', provider: this.provider, attempts: 0, prompts: [this.current] };
    if (adopt) this.adoptable = { provider: this.provider, taskId: adopt.taskId, model: item.model ?? '' };
  }

  /** The folder the image goes into: the batch's, or an adopted task's own. */
  get outDir(): string {
    return this.input.item.adopt?.outDir ?? this.input.outDir;
  }

  /**
   * import-tasks: the task another tool submitted and paid for, to collect instead of submitting (once, first).
   * No submission of this image's: it counts no attempt and none of the budget.
   */
  takeAdopted(): ProviderTaskRef | undefined {
    const task = this.adoptable;
    this.adoptable = undefined;
    if (!task) return undefined;
    this.pendingTask = task;
    this.result.providerTaskId = task.taskId;
    this.result.model = task.model;
    return task;
  }

  get provider(): ProviderKind {
    return this.fallback.current;
  }
  /** The prompt the next submission sends. */
  get prompt(): string {
    return this.current;
  }
  get task(): ProviderTaskRef | undefined {
    return this.pendingTask;
  }

  /** The next submission's request. */
  request(): ImageRequestSpec {
    return { ...this.providerRequest, prompt: this.current, seed: this.seed };
  }

  /** What the image file records of how it was made (the activity adds provider, model and task id). */
  metadata(request: ImageRequestSpec): ImageMetadata {
    return {
      batchId: this.input.batchId,
      itemId: this.input.item.id,
      prompt: request.prompt,
      ...(request.negativePrompt ? { negativePrompt: request.negativePrompt } : {}),
      prompts: [...this.result.prompts],
      ...(this.seedUsed(request.seed) !== undefined ? { seed: request.seed } : {}),
      ...(request.width ? { width: request.width, height: request.height } : {}),
    };
  }

  /**
   * The batch's budget is money: with its share spent the image stops (cancelled, BudgetReached) and the batch
   * queues it again for when there is more. True when that is so.
   */
  budgetSpent(): boolean {
    const max = this.input.maxSubmissions;
    if (max === undefined || (this.result.tasks ?? 0) < max) return false;
    Object.assign(this.result, { status: 'cancelled', errorType: ErrorType.BudgetReached });
    this.result.error = `its share of the batch's submission budget (${max}) is spent`;
    return true;
  }

  /**
   * The provider refused the submit for its limit (not the item's fault: the image waits for a slot again). With a
   * provider to fall back to, a limit that lasts past the max wait is one this provider cannot serve: answers why
   * the image moves on then, else undefined.
   */
  throttled(now: number): string | undefined {
    this.throttledSince ??= now;
    if (!this.fallback.hasNext || now - this.throttledSince < this.input.policy.maxWaitMs) return undefined;
    return `rate limited for longer than the max wait (${this.input.policy.maxWaitMs} ms)`;
  }

  /** The provider's answer: the task to collect, or undefined when the image is made (or was there already). */
  answered(answer: ProviderAnswer): ProviderTaskRef | undefined {
    this.throttledSince = undefined;
    if ('existing' in answer) {
      this.succeeded(answer.existing, true);
      return undefined;
    }
    // A submit that succeeded on its Nth attempt after failures the provider may have taken (a 5xx once the gateway
    // accepted it: fal takes no idempotency key) may have been paid N times: each counts against the budget.
    const made = 'taskId' in answer ? Math.max(1, answer.attempts ?? 1) : 1;
    this.result.attempts += made;
    this.result.tasks = (this.result.tasks ?? 0) + made;
    this.result.model = answer.model;
    if ('stored' in answer) {
      this.succeeded(answer.stored);
      return undefined;
    }
    this.pendingTask = { provider: this.provider, taskId: answer.taskId, model: answer.model };
    this.result.providerTaskId = answer.taskId;
    return this.pendingTask;
  }

  /** The image file is stored (`skipped`: it was there already). */
  succeeded(stored: StoredImage, skipped = false): void {
    const { file, sha256, bytes, imageSize } = stored;
    // The image's size goes with its result to the manifest (absent from older activities' answers).
    Object.assign(this.result, { status: 'succeeded', file, sha256, bytes, ...(imageSize ? { imageSize } : {}) });
    if (skipped) this.result.skipped = true;
    else if (this.seedUsed(this.seed) !== undefined) this.result.seed = this.seed;
    this.result.error = undefined;
    this.result.errorType = undefined;
  }

  /** A submission, call or collect failed with this type: what next (see NextStep). */
  afterFailure(type: string, message: string): NextStep {
    this.result.error = message;
    this.result.errorType = type;
    // An adopted task that failed or is gone: generated again only when asked (that is paying again).
    const adopted = this.input.item.adopt;
    if (adopted && this.pendingTask?.taskId === adopted.taskId && !this.result.tasks && !adopted.resubmit) {
      this.pendingTask = undefined;
      // Overdue is not ended: the task may still finish, and a later import collects it.
      const why =
        type === ErrorType.MaxWaitExceeded
          ? 'it may still finish: import again later'
          : '--resubmit generates it again';
      this.result.error = `${message} (the task was submitted before the import; ${why})`;
      return { do: 'finish' };
    }
    const meaning = failureMeaning(type);
    const moderation = meaning.resubmit === 'simpler-prompt';
    // Moderation refused the submit itself: a submission all the same (the item reported "attempts 0").
    if (!this.pendingTask && moderation) this.result.attempts++;
    // A synchronous call that failed after the provider may have done the work (an empty or unusable answer,
    // a cut connection, a dead worker) may be billed: it counts against the budget like an accepted task.
    else if (isSyncProvider(this.provider) && meaning.billed) {
      this.result.attempts++;
      this.result.tasks = (this.result.tasks ?? 0) + 1;
    }
    if (moderation) return this.afterModeration(type, message);
    // Lost, failed, unusable or overdue: an overdue task is cancelled first, to free the provider's slot.
    const cancel = type === ErrorType.MaxWaitExceeded ? this.pendingTask : undefined;
    this.pendingTask = undefined;
    if (this.fallback.movesOn(type, this.retriesLeft <= 0)) return { do: 'move-on', cancel };
    if (meaning.resubmit === 'never') return { do: 'finish', cancel };
    if (this.retriesLeft <= 0) {
      this.result.error = `${message} (gave up after ${this.input.policy.retries} retries)`;
      return { do: 'finish', cancel };
    }
    this.retriesLeft--;
    // A retryable output rejection (Volcengine 50511/50519) wants a new seed.
    if (meaning.resubmit === 'new-seed' && this.seed !== undefined) this.seed++;
    // A synchronous provider's call is retried here, not by its activity: with the activity's backoff.
    const waitMs = isSyncProvider(this.provider) ? backoffMs(this.input.policy.retries - this.retriesLeft) : undefined;
    return { do: 'retry', cancel, waitMs };
  }

  private afterModeration(type: string, message: string): NextStep {
    const simpler = simplifyPrompt(this.current);
    if (this.simplificationsLeft > 0 && simpler !== this.current) {
      this.simplificationsLeft--;
      this.current = simpler;
      this.result.prompts.push(simpler);
      this.pendingTask = undefined;
      return { do: 'simplify' };
    }
    if (this.fallback.movesOn(type, true)) return { do: 'move-on' };
    this.result.error = `moderation rejected the prompt and simplification could not help: ${message}`;
    return { do: 'finish' };
  }

  /** Fallback: the next provider, with its own retries and simplifications; answers it. */
  moveOn(errorType: string, reason: string): ProviderKind {
    this.fallback.next(errorType, reason);
    this.retriesLeft = this.input.policy.retries;
    this.simplificationsLeft = this.input.policy.simplifications;
    this.throttledSince = undefined;
    this.pendingTask = undefined;
    // Another provider's moderation may take what this one refused: it gets the prompt as written.
    if (failureMeaning(errorType).resubmit === 'simpler-prompt' && this.current !== this.originalPrompt) {
      this.current = this.originalPrompt;
      this.result.prompts.push(this.current);
    }
    return this.provider;
  }

  /** The image's result as it ends (made, failed, or stopped at its budget share). */
  final(): ImageResult {
    const r = this.result;
    r.provider = this.provider;
    const tried = this.fallback.tried(
      r.status === 'succeeded' ? undefined : { errorType: r.errorType, reason: r.error },
    );
    if (tried) r.tried = tried;
    return r;
  }

  /** The image's result when it was cancelled. */
  cancelled(): ImageResult {
    Object.assign(this.result, { status: 'cancelled', error: 'cancelled', provider: this.provider });
    return this.result;
  }

  /** The seed that made the image: none for "any seed" (-1), nor for a provider whose API takes none. */
  private seedUsed(s: number | undefined): number | undefined {
    return s !== undefined && s >= 0 && takesSeed(this.provider) ? s : undefined;
  }
}

// One image's decisions, without a server: what it counts, and after each failure whether it retries, simplifies,
// moves to the next provider or finishes.
import { describe, expect, it } from 'vitest';
import { ImageLedger } from '../../src/workflows/image-ledger';
import type { ImageWorkflowInput, ProviderKind } from '../../src/shared/types';

const stored = { file: 'a.png', sha256: 'abc', bytes: 3, mime: 'image/png' };
const policy = { pollIntervalMs: 1000, maxWaitMs: 10_000, retries: 2, simplifications: 1, expectedLatencyMs: 500 };

type Options = Partial<ImageWorkflowInput> & { prompt?: string; seed?: number };

function ledger(o: Options = {}): ImageLedger {
  const { prompt = 'a red fox --ar 16:9', seed, ...input } = o;
  return new ImageLedger({
    batchId: 'b1',
    item: { id: 'i1', prompt, ...(seed !== undefined ? { seed } : {}), width: 64, height: 64 },
    provider: 'volcengine',
    outDir: '/tmp/out/b1',
    policy,
    ...input,
  } as ImageWorkflowInput);
}

const fallback = (providers: ProviderKind[], o: Options = {}) => ledger({ provider: providers[0], providers, ...o });

describe('ImageLedger: a submission and its answer', () => {
  it('sends the cleaned prompt and the seed with what the provider gets of the item, and records it', () => {
    const l = ledger({ seed: 7 });
    expect(l.request()).toEqual({ prompt: 'a red fox', seed: 7, width: 64, height: 64 });
    expect(l.result).toMatchObject({ itemId: 'i1', status: 'failed', attempts: 0, prompts: ['a red fox'] });
    expect(l.metadata(l.request())).toEqual({
      batchId: 'b1',
      itemId: 'i1',
      prompt: 'a red fox',
      prompts: ['a red fox'],
      seed: 7,
      width: 64,
      height: 64,
    });
  });

  it('counts an accepted task, keeps it to collect, and records the seed that made the image', () => {
    const l = ledger({ seed: 7 });
    const task = l.answered({ taskId: 't1', model: 'm1' });
    expect(task).toEqual({ provider: 'volcengine', taskId: 't1', model: 'm1' });
    expect(l.task).toEqual(task);
    expect(l.result).toMatchObject({ attempts: 1, tasks: 1, providerTaskId: 't1', model: 'm1' });
    l.succeeded(stored);
    expect(l.final()).toMatchObject({ status: 'succeeded', file: 'a.png', sha256: 'abc', bytes: 3, seed: 7 });
    expect(l.final().tried).toBeUndefined();
  });

  it('ends at once on a synchronous answer, and on an output that was there already (counted as no submission)', () => {
    const made = ledger({ provider: 'openai' });
    expect(made.answered({ stored, model: 'gpt-image-1' })).toBeUndefined();
    expect(made.result).toMatchObject({ status: 'succeeded', attempts: 1, tasks: 1, model: 'gpt-image-1' });
    const found = ledger({ seed: 3 });
    expect(found.answered({ existing: stored })).toBeUndefined();
    expect(found.result).toMatchObject({ status: 'succeeded', skipped: true, attempts: 0 });
    expect(found.result.seed).toBeUndefined();
  });

  it('records no seed for "any seed" (-1), nor for a provider whose API takes none', () => {
    const any = ledger({ seed: -1 });
    any.succeeded(stored);
    expect(any.result.seed).toBeUndefined();
    expect(any.metadata(any.request()).seed).toBeUndefined();
    const openai = ledger({ provider: 'openai', seed: 5 });
    openai.succeeded(stored);
    expect(openai.result.seed).toBeUndefined();
  });

  it('stops at its share of the budget, as cancelled with BudgetReached (the batch queues it again)', () => {
    const l = ledger({ maxSubmissions: 1 });
    expect(l.budgetSpent()).toBe(false);
    l.answered({ taskId: 't1', model: 'm' });
    expect(l.afterFailure('TaskFailed', 'boom').do).toBe('retry');
    expect(l.budgetSpent()).toBe(true);
    expect(l.final()).toMatchObject({ status: 'cancelled', errorType: 'BudgetReached' });
    expect(l.result.error).toContain('(1) is spent');
  });

  it('counts a submit that succeeded on its Nth attempt as N possibly paid submissions (one when not said)', () => {
    // Two attempts answered 5xx before the third made the task: the gateway may have taken each (fal has no key).
    const l = ledger({ maxSubmissions: 3 });
    l.answered({ taskId: 't1', model: 'm', attempts: 3 });
    expect(l.result).toMatchObject({ attempts: 3, tasks: 3 });
    expect(l.afterFailure('TaskFailed', 'boom').do).toBe('retry');
    expect(l.budgetSpent()).toBe(true);
    // A history recorded before the field: one.
    const old = ledger({ maxSubmissions: 3 });
    old.answered({ taskId: 't1', model: 'm' });
    expect(old.result).toMatchObject({ attempts: 1, tasks: 1 });
    expect(old.afterFailure('TaskFailed', 'boom').do).toBe('retry');
    expect(old.budgetSpent()).toBe(false);
  });
});

describe('ImageLedger.afterFailure', () => {
  it('resubmits a failed task within its retries, then gives up saying so', () => {
    const l = ledger();
    l.answered({ taskId: 't1', model: 'm' });
    expect(l.afterFailure('TaskFailed', 'boom')).toEqual({ do: 'retry', cancel: undefined, waitMs: undefined });
    expect(l.task).toBeUndefined();
    expect(l.afterFailure('TaskGone', 'lost')).toMatchObject({ do: 'retry' });
    expect(l.afterFailure('BadImage', 'truncated')).toMatchObject({ do: 'finish' });
    expect(l.final()).toMatchObject({
      status: 'failed',
      errorType: 'BadImage',
      error: 'truncated (gave up after 2 retries)',
    });
  });

  it('cancels an overdue task before it resubmits', () => {
    const l = ledger();
    const task = l.answered({ taskId: 't1', model: 'm' });
    expect(l.afterFailure('MaxWaitExceeded', 'no result')).toEqual({ do: 'retry', cancel: task, waitMs: undefined });
    expect(l.afterFailure('TaskFailed', 'boom').cancel).toBeUndefined();
  });

  it('finishes at once on what no resubmission fixes: a wrong request, bad credentials, a full disk', () => {
    for (const type of ['InvalidRequest', 'AuthFailed', 'LocalStorage']) {
      const l = ledger();
      expect(l.afterFailure(type, 'no').do, type).toBe('finish');
      expect(l.result).toMatchObject({ errorType: type, error: 'no' });
    }
  });

  it('takes a new seed after a retryable output rejection', () => {
    const l = ledger({ seed: 41 });
    l.answered({ taskId: 't1', model: 'm' });
    expect(l.afterFailure('OutputRejected', '50511').do).toBe('retry');
    expect(l.request().seed).toBe(42);
    expect(ledger().afterFailure('OutputRejected', '50511').do).toBe('retry');
  });

  it('simplifies a refused prompt within its simplifications, counting a refused submit as an attempt', () => {
    const l = ledger({ prompt: 'a bloody knife, on a table, at night' });
    expect(l.afterFailure('ContentRejected', 'moderation')).toEqual({ do: 'simplify' });
    expect(l.result.attempts).toBe(1);
    expect(l.prompt).toBe('a, on a table, at night');
    expect(l.result.prompts).toEqual(['a bloody knife, on a table, at night', 'a, on a table, at night']);
    expect(l.afterFailure('ContentRejected', 'again')).toEqual({ do: 'finish' });
    expect(l.result.error).toBe('moderation rejected the prompt and simplification could not help: again');
  });

  it('does not count a task moderation failed later again (it was counted at its submit)', () => {
    const l = ledger({ prompt: 'blood' });
    l.answered({ taskId: 't1', model: 'm' });
    l.afterFailure('ContentRejected', 'moderation');
    expect(l.result.attempts).toBe(1);
  });

  it('finishes when a refused prompt cannot get simpler', () => {
    const l = ledger({ prompt: 'fox' });
    expect(l.afterFailure('ContentRejected', 'moderation')).toEqual({ do: 'finish' });
  });

  it("counts a synchronous call's failure against the budget unless the provider refused it before the work", () => {
    const billed = ledger({ provider: 'openai' });
    expect(billed.afterFailure('Transient', 'cut')).toEqual({ do: 'retry', cancel: undefined, waitMs: 1000 });
    expect(billed.result).toMatchObject({ attempts: 1, tasks: 1 });
    expect(billed.afterFailure('BadImage', 'empty').waitMs).toBe(2000);
    expect(billed.result).toMatchObject({ attempts: 2, tasks: 2 });
    const refused = ledger({ provider: 'openai' });
    refused.afterFailure('RateLimited', '429');
    expect(refused.result).toMatchObject({ attempts: 0 });
    expect(refused.result.tasks).toBeUndefined();
  });

  it('counts no failure of an asynchronous submit (the provider took no task)', () => {
    const l = ledger();
    l.afterFailure('Transient', 'down');
    expect(l.result.attempts).toBe(0);
    expect(l.result.tasks).toBeUndefined();
  });
});

describe('ImageLedger: fallback', () => {
  it('moves on at once when the provider cannot serve, with fresh retries, and records every provider tried', () => {
    const l = fallback(['fal', 'dashscope']);
    expect(l.afterFailure('AuthFailed', 'bad key').do).toBe('move-on');
    expect(l.moveOn('AuthFailed', 'bad key')).toBe('dashscope');
    expect(l.provider).toBe('dashscope');
    expect(l.afterFailure('TaskFailed', 'a').do).toBe('retry');
    expect(l.afterFailure('TaskFailed', 'b').do).toBe('retry');
    expect(l.afterFailure('TaskFailed', 'c').do).toBe('finish');
    expect(l.final()).toMatchObject({
      provider: 'dashscope',
      tried: [
        { provider: 'fal', errorType: 'AuthFailed', reason: 'bad key' },
        { provider: 'dashscope', errorType: 'TaskFailed', reason: 'c (gave up after 2 retries)' },
      ],
    });
  });

  it('moves on a failing task once its retries are spent', () => {
    const l = fallback(['comfyui', 'fal']);
    expect(l.afterFailure('TaskFailed', 'a').do).toBe('retry');
    expect(l.afterFailure('TaskFailed', 'b').do).toBe('retry');
    expect(l.afterFailure('TaskFailed', 'c').do).toBe('move-on');
  });

  it('moves on an overdue task after cancelling it', () => {
    const l = fallback(['fal', 'openai']);
    const task = l.answered({ taskId: 't', model: 'm' });
    expect(l.afterFailure('MaxWaitExceeded', 'late')).toEqual({ do: 'move-on', cancel: task });
  });

  it('moves on a refused prompt only when asked, and gives the next provider the prompt as written', () => {
    const asked = fallback(['fal', 'openai'], { fallbackOnModeration: true, prompt: 'a bloody knife, on a table' });
    expect(asked.afterFailure('ContentRejected', 'no').do).toBe('simplify');
    expect(asked.afterFailure('ContentRejected', 'no').do).toBe('move-on');
    asked.moveOn('ContentRejected', 'no');
    expect(asked.prompt).toBe('a bloody knife, on a table');
    expect(asked.result.prompts).toEqual(['a bloody knife, on a table', 'a, on a table', 'a bloody knife, on a table']);
    const notAsked = fallback(['fal', 'openai'], { prompt: 'fox' });
    expect(notAsked.afterFailure('ContentRejected', 'no').do).toBe('finish');
  });

  it('keeps waiting out a throttle, and with a provider to fall back to moves on once it outlasts the max wait', () => {
    const alone = ledger();
    expect(alone.throttled(0)).toBeUndefined();
    expect(alone.throttled(60_000)).toBeUndefined();
    const l = fallback(['fal', 'dashscope']);
    expect(l.throttled(1000)).toBeUndefined();
    expect(l.throttled(10_999)).toBeUndefined();
    expect(l.throttled(11_000)).toBe('rate limited for longer than the max wait (10000 ms)');
    // An answer ends the run of throttles: the max wait counts from the next one.
    l.answered({ taskId: 't', model: 'm' });
    expect(l.throttled(20_000)).toBeUndefined();
    expect(l.throttled(29_999)).toBeUndefined();
  });

  it('never moves on a wrong request or a full disk', () => {
    expect(fallback(['fal', 'openai']).afterFailure('InvalidRequest', 'bad').do).toBe('finish');
    expect(fallback(['fal', 'openai']).afterFailure('LocalStorage', 'full').do).toBe('finish');
  });
});

describe('ImageLedger: cancelled', () => {
  it('keeps the task to cancel, and ends as cancelled on the provider it was on', () => {
    const l = fallback(['fal', 'dashscope']);
    l.moveOn('Transient', 'down');
    const task = l.answered({ taskId: 't9', model: 'm' });
    expect(l.task).toEqual(task);
    expect(l.cancelled()).toMatchObject({ status: 'cancelled', error: 'cancelled', provider: 'dashscope' });
  });
});

describe('ImageLedger: a task adopted from the old tool (import-tasks)', () => {
  const adopted = (resubmit = false) =>
    new ImageLedger({
      batchId: 'b1',
      item: {
        id: 't1',
        prompt: 'a lighthouse',
        model: 'jimeng_t2i_v40',
        adopt: { taskId: 'old-1', outDir: '/work/old/images', ...(resubmit ? { resubmit } : {}) },
      },
      provider: 'volcengine',
      outDir: '/tmp/out/b1',
      policy,
    });

  it('collects the task once, first, into its own folder, counting no submission; nothing adopted leaves it as it was', () => {
    const l = adopted();
    expect(l.outDir).toBe('/work/old/images');
    expect(l.request()).not.toHaveProperty('adopt');
    expect(l.takeAdopted()).toEqual({ provider: 'volcengine', taskId: 'old-1', model: 'jimeng_t2i_v40' });
    expect(l.task?.taskId).toBe('old-1');
    expect(l.takeAdopted()).toBeUndefined();
    l.succeeded(stored);
    expect(l.final()).toMatchObject({ status: 'succeeded', attempts: 0, providerTaskId: 'old-1' });
    expect(l.final().tasks).toBeUndefined();
    const plain = ledger();
    expect(plain.takeAdopted()).toBeUndefined();
    expect(plain.outDir).toBe('/tmp/out/b1');
  });

  it('fails with the reason when the provider no longer knows the task, and never submits again', () => {
    const l = adopted();
    l.takeAdopted();
    expect(l.afterFailure('TaskGone', 'task old-1 is not_found')).toEqual({ do: 'finish' });
    expect(l.final()).toMatchObject({ status: 'failed', errorType: 'TaskGone', attempts: 0 });
    expect(l.final().error).toContain('task old-1 is not_found');
    expect(l.final().error).toContain('--resubmit');
  });

  it('an adopted task overdue is neither cancelled nor resubmitted: it may still finish for a later import', () => {
    const l = adopted();
    l.takeAdopted();
    expect(l.afterFailure('MaxWaitExceeded', 'no result within the max wait')).toEqual({ do: 'finish' });
    expect(l.final().error).toMatch(/may still finish: import again later/);
    expect(l.final().tasks).toBeUndefined();
  });

  it('with resubmit, generates a gone task again as any lost task (one retry spent)', () => {
    const l = adopted(true);
    l.takeAdopted();
    expect(l.afterFailure('TaskGone', 'task old-1 is not_found')).toEqual({ do: 'retry' });
    expect(l.task).toBeUndefined();
    expect(l.answered({ taskId: 'new-1', model: 'jimeng_t2i_v40' })?.taskId).toBe('new-1');
    expect(l.result).toMatchObject({ attempts: 1, tasks: 1 });
  });
});

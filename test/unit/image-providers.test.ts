import { describe, expect, it } from 'vitest';
import { ErrorType } from '../../src/shared/errors';
import { ProviderFallback } from '../../src/workflows/image-providers';

const MAX_WAIT_EXCEEDED = ErrorType.MaxWaitExceeded;

describe('ProviderFallback', () => {
  it('moves on at once when the provider cannot serve the item, and records why', () => {
    const f = new ProviderFallback(['fal', 'dashscope']);
    expect(f.movesOn(MAX_WAIT_EXCEEDED, false)).toBe(true);
    expect(f.movesOn('RateLimited', false)).toBe(true);
    expect(f.movesOn('AuthFailed', false)).toBe(true);
    expect(f.next('RateLimited', 'rate limited for longer than the max wait')).toBe('dashscope');
    expect(f.current).toBe('dashscope');
    expect(f.hasNext).toBe(false);
    expect(f.tried()).toEqual([
      { provider: 'fal', errorType: 'RateLimited', reason: 'rate limited for longer than the max wait' },
      { provider: 'dashscope' },
    ]);
  });

  it('never moves on an invalid request, a spent budget or a full disk', () => {
    const f = new ProviderFallback(['fal', 'openai']);
    for (const t of ['InvalidRequest', 'BudgetReached', 'LocalStorage']) expect(f.movesOn(t, true)).toBe(false);
  });

  it('moves on a failing task only once its retries are spent', () => {
    const f = new ProviderFallback(['comfyui', 'fal']);
    expect(f.movesOn('TaskFailed', false)).toBe(false);
    expect(f.movesOn('TaskFailed', true)).toBe(true);
  });

  it('moves on moderation only when asked to, and only after simplification could not help', () => {
    expect(new ProviderFallback(['fal', 'openai']).movesOn('ContentRejected', true)).toBe(false);
    const f = new ProviderFallback(['fal', 'openai'], true);
    expect(f.movesOn('ContentRejected', false)).toBe(false);
    expect(f.movesOn('ContentRejected', true)).toBe(true);
  });

  it('has nowhere to go with one provider, and records nothing', () => {
    const f = new ProviderFallback(['volcengine']);
    expect(f.movesOn(MAX_WAIT_EXCEEDED, true)).toBe(false);
    expect(f.tried()).toBeUndefined();
  });

  it('records the last provider with its failure when the item failed everywhere', () => {
    const f = new ProviderFallback(['fal', 'openai']);
    f.next('AuthFailed', 'bad key');
    expect(f.tried({ errorType: 'Transient', reason: 'down' })).toEqual([
      { provider: 'fal', errorType: 'AuthFailed', reason: 'bad key' },
      { provider: 'openai', errorType: 'Transient', reason: 'down' },
    ]);
  });
});

// A value kept fresh beside a progress display (no server): one ask at a time, none before `everyMs` has passed since
// the last, none when there is nothing to ask, and the latest answer shown until the next.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { progressWatch } from '../../src/client/progress-watch';
import type { BatchProgress } from '../../src/shared/batch-types';

const progress = (running: number) => ({ running }) as BatchProgress;

afterEach(() => vi.useRealTimers());

describe('progressWatch', () => {
  it('asks once at a time and at most every everyMs, keeping the latest answer', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(10_000);
    const answers: ((n: number) => void)[] = [];
    const ask = vi.fn((p: BatchProgress) =>
      p.running ? new Promise<number>((resolve) => answers.push(resolve)) : undefined,
    );
    const watch = progressWatch(0, 2000, ask);
    watch.refresh(progress(0));
    expect(ask).toHaveBeenCalledTimes(1);
    expect(answers).toHaveLength(0);
    watch.refresh(progress(3));
    // Still unanswered when its time comes again: no second ask beside it.
    vi.setSystemTime(12_000);
    watch.refresh(progress(3));
    expect(answers).toHaveLength(1);
    answers[0](7);
    await watch.settled();
    expect(watch.latest()).toBe(7);
    watch.refresh(progress(3));
    expect(answers).toHaveLength(2);
    answers[1](8);
    await watch.settled();
    // Answered, but too soon after the last ask.
    vi.setSystemTime(13_999);
    watch.refresh(progress(3));
    expect(answers).toHaveLength(2);
    vi.setSystemTime(14_000);
    watch.refresh(progress(3));
    expect(answers).toHaveLength(3);
    expect(watch.latest()).toBe(8);
    answers[2](9);
    await watch.settled();
    expect(watch.latest()).toBe(9);
  });
});

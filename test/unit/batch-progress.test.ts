// The ETA rule and the words a batch is described in: a rate only once enough items have finished, and a batch with
// failures never reads like a clean success (its result, its Web UI details, the CLI's headline).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ETA_MIN_FINISHED, estimate, etaWords } from '../../src/shared/batch-eta';
import { outcomeHead, outcomeWords, progressDetails } from '../../src/shared/batch-words';
import type { BatchInput } from '../../src/shared/batch-types';
import type { ImageItem } from '../../src/shared/types';
import { stateCounts, stateQuery } from '../../src/client/image-states';
import { BatchLedger } from '../../src/workflows/batch-ledger';

const MIN = 60_000;

describe('the ETA rule', () => {
  it('says nothing until enough items have finished', () => {
    expect(estimate(ETA_MIN_FINISHED - 1, 10, 5 * MIN, 0)).toEqual({});
    expect(estimate(0, 10, 5 * MIN, 0)).toEqual({});
  });

  it('measures the rate since the batch started and multiplies out the items left', () => {
    // Started at 10 min; three finished by 13 min: 1 a minute.
    const e = estimate(3, 5, 13 * MIN, 10 * MIN);
    expect(e.ratePerMinute).toBe(1);
    expect(e.eta).toBe(new Date(18 * MIN).toISOString());
  });

  it('reads a window finishing its first round together as the window rate, not a burst', () => {
    // 10 in flight, 1 minute each: the first 10 finish within a second of each other at about 1 min.
    expect(estimate(10, 90, MIN + 1000, 0).ratePerMinute).toBeCloseTo(9.8, 0);
  });

  it('slows down while nothing finishes, and has no ETA when nothing is left or time has not moved', () => {
    expect(estimate(4, 4, 4 * MIN, 0).ratePerMinute).toBe(1);
    expect(estimate(4, 4, 8 * MIN, 0).ratePerMinute).toBe(0.5);
    expect(estimate(4, 0, 4 * MIN, 0)).toEqual({ ratePerMinute: 1 });
    expect(estimate(3, 4, 100, 100)).toEqual({});
  });

  it('is put in seconds, minutes or hours', () => {
    expect(etaWords(new Date(40_000).toISOString(), 0)).toBe('ETA 40 s');
    expect(etaWords(new Date(4 * MIN).toISOString(), 0)).toBe('ETA 4 min');
    expect(etaWords(new Date(125 * MIN).toISOString(), 0)).toBe('ETA 2 h 5 min');
    expect(etaWords(new Date(0).toISOString(), 5000)).toBe('ETA 0 s');
  });
});

describe('the outcome in words', () => {
  const c = (succeeded: number, failed: number, cancelled: number) => ({
    total: succeeded + failed + cancelled,
    succeeded,
    failed,
    cancelled,
  });

  it('a clean batch is completed; failures and cancelled items are named beside it', () => {
    expect(outcomeWords('completed', c(10, 0, 0))).toBe('completed: 10 of 10 succeeded');
    expect(outcomeWords('completed', c(8, 2, 0))).toBe('completed with 2 failed: 8 of 10 succeeded');
    expect(outcomeWords('completed', c(7, 2, 1))).toBe('completed with 2 failed, 1 cancelled: 7 of 10 succeeded');
    expect(outcomeHead('completed', c(9, 0, 1))).toBe('completed with 1 cancelled');
  });

  it('a cancelled batch counts what it cancelled and what failed', () => {
    expect(outcomeWords('cancelled', c(3, 0, 7))).toBe('cancelled: 3 of 10 succeeded, 7 cancelled');
    expect(outcomeWords('cancelled', c(3, 1, 6))).toBe('cancelled with 1 failed: 3 of 10 succeeded, 6 cancelled');
  });

  it("the Web UI's details while it runs", () => {
    const p = { total: 100, succeeded: 9, failed: 3, cancelled: 0, running: 3, queued: 85, paused: false };
    const eta = new Date(4 * MIN).toISOString();
    expect(progressDetails({ ...p, cancelRequested: false, eta }, 0)).toBe(
      '12/100 done · 3 failed · 3 running · 85 queued · ETA 4 min',
    );
  });
});

describe("the ledger's progress and summary", () => {
  afterEach(() => vi.useRealTimers());
  const items: ImageItem[] = Array.from({ length: 6 }, (_, i) => ({ id: `i${i + 1}`, prompt: `p${i + 1}` }));
  const input: BatchInput = {
    batchId: 'b',
    items: { kind: 'inline', items },
    outDir: '/out/b',
    provider: 'volcengine',
    concurrency: 6,
    policy: { pollIntervalMs: 100, maxWaitMs: 1000, retries: 1, simplifications: 1, expectedLatencyMs: 0 },
  };
  const loader = {
    at: async (i: number) => items[i],
    byIds: async (ids: string[]) => items.filter((x) => ids.includes(x.id)),
  };
  const report = (itemId: string, status: 'succeeded' | 'failed', skipped = false) => ({
    itemId,
    status,
    provider: 'volcengine' as const,
    attempts: 1,
    prompts: ['p'],
    ...(skipped ? { skipped } : {}),
  });

  async function started() {
    const ledger = new BatchLedger(input);
    for (const { item } of await ledger.takeNext(6, loader)) ledger.started(item.id, `c-${item.id}`);
    return ledger;
  }

  it('has a rate and an ETA once three items have finished; skipped outputs do not count; carried over', async () => {
    // The workflow's clock, which Date.now() is in workflow code.
    vi.useFakeTimers({ toFake: ['Date'] });
    const at = (minute: number) => vi.setSystemTime(minute * MIN);
    at(0);
    const ledger = await started();
    at(1);
    ledger.settle(report('i1', 'succeeded', true));
    ledger.settle(report('i2', 'succeeded'));
    at(2);
    ledger.settle(report('i3', 'failed'));
    expect(ledger.progress().eta).toBeUndefined();
    at(3);
    ledger.settle(report('i4', 'succeeded'));
    // 3 made (i2, i3, i4; i1 was there already) in the 3 minutes since the start, 2 left (i5, i6): 2 minutes more.
    expect(ledger.progress()).toMatchObject({ ratePerMinute: 1, eta: new Date(5 * MIN).toISOString() });
    expect(ledger.carry().made).toBe(3);
    expect(new BatchLedger({ ...input, state: ledger.carry() }).carry().made).toBe(3);
  });

  it('a paused batch promises no ETA', async () => {
    const ledger = await started();
    const state = (ledger as unknown as { s: { made: number; startedAt: string } }).s;
    state.made = 3;
    state.startedAt = new Date(Date.now() - 2 * MIN).toISOString();
    expect(ledger.progress().eta).toBeDefined();
    ledger.pause('strict');
    expect(ledger.progress()).toMatchObject({ ratePerMinute: expect.any(Number) });
    expect(ledger.progress().eta).toBeUndefined();
  });

  it("the summary's outcome names the failures", async () => {
    const ledger = await started();
    for (const id of ['i1', 'i2', 'i3', 'i4']) ledger.settle(report(id, 'succeeded'));
    ledger.settle(report('i5', 'failed'));
    ledger.settle(report('i6', 'failed'));
    expect(ledger.summary('m')).toMatchObject({
      status: 'completed',
      outcome: 'completed with 2 failed: 4 of 6 succeeded',
    });
  });
});

describe('items per state', () => {
  const p = { queued: 5, running: 4, succeeded: 2, failed: 1, cancelled: 0 };

  it('splits the running images as visibility counted them, never beyond what the batch says runs', () => {
    expect(stateCounts(p, { waiting: 1 })).toEqual({
      queued: 5,
      waiting: 1,
      generating: 3,
      succeeded: 2,
      failed: 1,
      cancelled: 0,
    });
    expect(stateCounts(p, { waiting: 9 })).toMatchObject({ waiting: 4, generating: 0 });
    expect(stateCounts(p)).toMatchObject({ waiting: 0, generating: 4 });
  });

  it("asks visibility for the batch's running children in those states", () => {
    expect(stateQuery('b-1', ['queued', 'waiting'])).toBe(
      "ImageBatchId = 'b-1' AND ImageState IN ('queued', 'waiting') AND ExecutionStatus = 'Running'",
    );
    expect(stateQuery("it's", ['x'])).toContain("'it\\'s'");
  });
});

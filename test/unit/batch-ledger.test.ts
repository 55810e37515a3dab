// The batch's rules without a server: what starts next, how results count, and what each control request does or
// refuses.
import { describe, expect, it } from 'vitest';
import type { BatchInput } from '../../src/shared/batch-types';
import type { ImageItem, ImageResult } from '../../src/shared/types';
import { BatchLedger, ControlRefused, type ItemLoader, type Positions } from '../../src/workflows/batch-ledger';

const items = (n: number): ImageItem[] =>
  Array.from({ length: n }, (_, i) => ({ id: `i${i + 1}`, prompt: `p${i + 1}` }));

function batch(n: number, concurrency = 2, state?: BatchInput['state'], maxSubmissions?: number) {
  const list = items(n);
  const input: BatchInput = {
    batchId: 'b',
    items: { kind: 'inline', items: list },
    outDir: '/out/b',
    provider: 'volcengine',
    concurrency,
    policy: { pollIntervalMs: 100, maxWaitMs: 1000, retries: 1, simplifications: 1, expectedLatencyMs: 0 },
    state,
    maxSubmissions,
  };
  const loader: ItemLoader = {
    at: async (i) => list[i],
    byIds: async (ids) => list.filter((x) => ids.includes(x.id)),
  };
  const positions = (ids: string[]): Positions =>
    new Map(
      ids.flatMap((id) => (list.findIndex((x) => x.id === id) >= 0 ? [[id, list.findIndex((x) => x.id === id)]] : [])),
    );
  return { ledger: new BatchLedger(input), loader, positions, input };
}

/** Takes up to the room, marks each started as child `c-<id>[-rN]`, returns their ids. */
async function startNext(ledger: BatchLedger, loader: ItemLoader): Promise<string[]> {
  const next = await ledger.takeNext(ledger.room(100), loader);
  for (const { item, round } of next) ledger.started(item.id, `c-${item.id}${round ? `-r${round}` : ''}`);
  return next.map(({ item, round }) => (round ? `${item.id}-r${round}` : item.id));
}

const result = (itemId: string, status: ImageResult['status'], error?: string, attempts = 1): ImageResult => ({
  itemId,
  status,
  provider: 'volcengine',
  attempts,
  prompts: ['p'],
  error,
});

describe('BatchLedger: the window', () => {
  it('starts items in order up to the concurrency, and the next one as a slot frees', async () => {
    const { ledger, loader } = batch(3, 2);
    expect(await startNext(ledger, loader)).toEqual(['i1', 'i2']);
    expect(ledger.canStart()).toBe(false);
    ledger.settle(result('i1', 'succeeded'));
    expect(ledger.canStart()).toBe(true);
    expect(await startNext(ledger, loader)).toEqual(['i3']);
    ledger.settle(result('i2', 'failed', 'boom'));
    ledger.settle(result('i3', 'succeeded'));
    expect(ledger.done()).toBe(true);
    expect(ledger.summary('/out/b/manifest.json')).toMatchObject({
      total: 3,
      succeeded: 2,
      failed: 1,
      cancelled: 0,
      status: 'completed',
      failures: [{ itemId: 'i2', error: 'boom' }],
    });
  });

  it('ignores a late or repeated report, and every report wakes the loop', async () => {
    const { ledger, loader } = batch(2, 2);
    await startNext(ledger, loader);
    const before = ledger.changes;
    ledger.settle(result('i1', 'succeeded'));
    ledger.settle(result('i1', 'succeeded'));
    ledger.settle(result('zz', 'succeeded'));
    expect(ledger.progress()).toMatchObject({ succeeded: 1, running: 1, queued: 0 });
    expect(ledger.changes).toBe(before + 1);
    expect(ledger.takePending().map((r) => r.itemId)).toEqual(['i1']);
    expect(ledger.hasPending()).toBe(false);
  });

  it('starts nothing while paused, and again once resumed', async () => {
    const { ledger, loader } = batch(3, 2);
    expect(ledger.pause('strict').message).toMatch(/^paused/);
    expect(ledger.room(100)).toBe(0);
    expect(ledger.canStart()).toBe(false);
    expect(ledger.resume('strict').message).toBe('resumed');
    expect(await startNext(ledger, loader)).toEqual(['i1', 'i2']);
  });
});

describe('BatchLedger: control', () => {
  it('answers a concurrency change with the old and new value, and refuses a bad one', () => {
    const { ledger } = batch(3, 3);
    expect(ledger.setConcurrency(8, 'strict').message).toBe('concurrency 3 -> 8');
    expect(() => ledger.setConcurrency(0, 'check')).toThrow(ControlRefused);
    expect(() => ledger.setConcurrency(2001, 'strict')).toThrow(/from 1 to 2000/);
    // A signal cannot answer: a bad value changes nothing, a large one is capped.
    ledger.setConcurrency(0, 'lenient');
    expect(ledger.concurrency).toBe(8);
    ledger.setConcurrency(5000, 'lenient');
    expect(ledger.concurrency).toBe(2000);
  });

  it('refuses to pause twice, to resume a running batch, and to pause a cancelled one', () => {
    const { ledger } = batch(3);
    expect(() => ledger.resume('check')).toThrow('the batch is not paused');
    ledger.pause('strict');
    expect(() => ledger.pause('check')).toThrow('the batch is already paused');
    ledger.resume('strict');
    ledger.cancel(undefined, undefined, 'strict');
    expect(() => ledger.pause('check')).toThrow('the batch is being cancelled');
  });

  it('cancels the batch: the running children to cancel, the queued items counted as cancelled', async () => {
    const { ledger, loader } = batch(5, 2);
    await startNext(ledger, loader);
    const { answer, cancelChildren } = ledger.cancel(undefined, undefined, 'strict');
    expect(cancelChildren).toEqual(['c-i1', 'c-i2']);
    expect(answer.message).toBe('cancelling the batch: 2 running items cancelled, 3 queued items will not start');
    expect(ledger.room(100)).toBe(0);
    expect(() => ledger.cancel(undefined, undefined, 'check')).toThrow('already being cancelled');
    ledger.settle(result('i1', 'cancelled'));
    ledger.settle(result('i2', 'succeeded'));
    expect(ledger.done()).toBe(true);
    expect(ledger.summary('m')).toMatchObject({ status: 'cancelled', succeeded: 1, cancelled: 4 });
  });

  it('cancels named items: a running one by its child, a queued one when the cursor reaches it', async () => {
    const { ledger, loader, positions } = batch(4, 1);
    await startNext(ledger, loader);
    const ids = ['i1', 'i3'];
    const { answer, cancelChildren } = ledger.cancel(ids, positions(ids), 'strict');
    expect(answer).toEqual({ message: 'cancelling 2 items: i1, i3', itemIds: ['i1', 'i3'] });
    expect(cancelChildren).toEqual(['c-i1']);
    ledger.settle(result('i1', 'cancelled'));
    expect(await startNext(ledger, loader)).toEqual(['i2']);
    ledger.settle(result('i2', 'succeeded'));
    expect(await startNext(ledger, loader)).toEqual(['i4']);
    expect(ledger.progress()).toMatchObject({ cancelled: 2, succeeded: 1, running: 1 });
    expect(ledger.takePending().find((r) => r.itemId === 'i3')).toMatchObject({
      status: 'cancelled',
      error: 'cancelled before it started',
    });
  });

  it('refuses a cancel naming an unknown, finished or failed item, and changes nothing', async () => {
    const { ledger, loader, positions } = batch(3, 2);
    await startNext(ledger, loader);
    ledger.settle(result('i1', 'succeeded'));
    ledger.settle(result('i2', 'failed'));
    await startNext(ledger, loader);
    const ids = ['i3', 'nosuch', 'i1', 'i2'];
    expect(() => ledger.cancel(ids, positions(ids), 'strict')).toThrow(
      "item 'nosuch' is not in this batch; item 'i1' has already succeeded; item 'i2' has already failed",
    );
    expect(ledger.progress().inFlight).toEqual(['i3']);
    // A signal does what it can: i3 is cancelled, the rest dropped.
    expect(ledger.cancel(ids, positions(ids), 'lenient').cancelChildren).toEqual(['c-i3']);
  });

  it('judges items it cannot place yet (paged items) only once they are looked up', async () => {
    const { ledger, loader, positions } = batch(3, 1);
    await startNext(ledger, loader);
    // The validator has no positions for a paged batch: only what the ledger knows by itself is refused.
    expect(() => ledger.retry(['i1'], undefined, 'check')).toThrow("item 'i1' is running");
    expect(() => ledger.cancel(['nosuch'], undefined, 'check')).not.toThrow();
    expect(() => ledger.cancel(['nosuch'], positions(['nosuch']), 'strict')).toThrow('not in this batch');
  });

  it('retries failed and cancelled items first, each under a new round', async () => {
    const { ledger, loader, positions } = batch(3, 3);
    await startNext(ledger, loader);
    ledger.settle(result('i1', 'failed'));
    ledger.settle(result('i2', 'cancelled'));
    expect(() => ledger.retry(['i3'], positions(['i3']), 'strict')).toThrow("item 'i3' is running");
    const { answer } = ledger.retry(undefined, undefined, 'strict');
    expect(answer).toEqual({ message: 'retrying 2 items: i1, i2', itemIds: ['i1', 'i2'] });
    expect(ledger.progress()).toMatchObject({ failed: 0, cancelled: 0 });
    expect(await startNext(ledger, loader)).toEqual(['i1-r1', 'i2-r1']);
    expect(() => ledger.retry(['i1'], positions(['i1']), 'check')).toThrow("item 'i1' is running");
  });

  it('refuses a retry when nothing failed, and in a cancelled batch', async () => {
    const { ledger, loader } = batch(2, 2);
    await startNext(ledger, loader);
    expect(() => ledger.retry(undefined, undefined, 'strict')).toThrow('no failed or cancelled items to retry');
    ledger.cancel(undefined, undefined, 'strict');
    expect(() => ledger.retry(undefined, undefined, 'check')).toThrow('the batch is being cancelled');
  });

  it('a check changes nothing', async () => {
    const { ledger, loader, positions } = batch(3, 1);
    await startNext(ledger, loader);
    const before = JSON.stringify(ledger.carry());
    ledger.cancel(['i1', 'i2'], positions(['i1', 'i2']), 'check');
    ledger.cancel(undefined, undefined, 'check');
    ledger.setConcurrency(9, 'check');
    ledger.pause('check');
    expect(JSON.stringify(ledger.carry())).toBe(before);
  });
});

describe('BatchLedger: continue-as-new', () => {
  it('carries the cursor, counts, children in flight and cancelled queued items to the next run', async () => {
    const { ledger, loader, positions, input } = batch(4, 1);
    await startNext(ledger, loader);
    ledger.cancel(['i3'], positions(['i3']), 'strict');
    ledger.settle(result('i1', 'succeeded'));
    await startNext(ledger, loader);
    const next = new BatchLedger({ ...input, state: ledger.carry() });
    expect(next.progress()).toMatchObject({ runs: 2, succeeded: 1, inFlight: ['i2'] });
    // Results not yet written travel along.
    expect(next.takePending().map((r) => r.itemId)).toEqual(['i1']);
    next.settle(result('i2', 'succeeded'));
    expect(await startNext(next, loader)).toEqual(['i4']);
    expect(next.progress()).toMatchObject({ cancelled: 1 });
  });
});

describe('BatchLedger: the submission budget', () => {
  it('promises each image a share (one each, then up to its most) and starts none past the budget', async () => {
    // Each image could spend 3 (1 + 1 retry + 1 simplification); the budget is 5.
    const { ledger, loader } = batch(4, 3, undefined, 5);
    const next = await ledger.takeNext(ledger.room(100), loader);
    expect(next.map((n) => [n.item.id, n.maxSubmissions])).toEqual([
      ['i1', 3],
      ['i2', 1],
      ['i3', 1],
    ]);
    for (const n of next) ledger.started(n.item.id, `c-${n.item.id}`);
    expect(ledger.room(100)).toBe(0);
    expect(ledger.progress().budget).toEqual({ max: 5, used: 0, reserved: 5 });
    // i1 spent one of its three: two come back, and i4 may start with them.
    ledger.settle(result('i1', 'succeeded'));
    expect(ledger.progress().budget).toEqual({ max: 5, used: 1, reserved: 2 });
    expect(ledger.room(100)).toBe(1);
    const [i4] = await ledger.takeNext(1, loader);
    expect(i4).toMatchObject({ item: { id: 'i4' }, maxSubmissions: 2 });
  });

  it('queues an image whose share ran out again, and stops with the reason once the budget is spent', async () => {
    const { ledger, loader } = batch(3, 3, undefined, 3);
    for (const n of await ledger.takeNext(ledger.room(100), loader)) ledger.started(n.item.id, `c-${n.item.id}`);
    ledger.settle(result('i1', 'succeeded'));
    ledger.settle(result('i2', 'cancelled', 'share spent', 1));
    expect(ledger.stopped()).toBeUndefined();
    ledger.settle({ ...result('i3', 'cancelled', 'share spent'), errorType: 'BudgetReached' });
    expect(ledger.progress()).toMatchObject({ succeeded: 1, cancelled: 1, queued: 1, budget: { max: 3, used: 3 } });
    expect(ledger.stopped()).toBe('the budget of 3 submissions is spent (3 made)');
    expect(ledger.canStart()).toBe(false);
    expect(ledger.done()).toBe(false);
    expect(() => ledger.resume('check', 3)).toThrow('above the 3 submissions made or promised');
    expect(ledger.resume('strict', 5).message).toBe('resumed; budget 3 -> 5 submissions');
    expect(ledger.stopped()).toBeUndefined();
    const [again] = await ledger.takeNext(ledger.room(100), loader);
    expect(again).toMatchObject({ item: { id: 'i3' }, round: 1, maxSubmissions: 2 });
  });
});

describe('BatchLedger: an output folder that cannot be written', () => {
  it('pauses the batch with the reason, and a resume starts images again', async () => {
    const { ledger, loader } = batch(4, 2);
    await startNext(ledger, loader);
    ledger.settle({
      ...result('i1', 'failed', 'the output folder /out/b cannot be written: no space left on device'),
      errorType: 'LocalStorage',
    });
    expect(ledger.room(100)).toBe(0);
    expect(ledger.stopped()).toBe('paused: the output folder /out/b cannot be written: no space left on device');
    expect(ledger.progress()).toMatchObject({ paused: true, failed: 1 });
    expect(ledger.resume('strict').message).toBe('resumed');
    expect(ledger.stopped()).toBeUndefined();
    expect(await startNext(ledger, loader)).toEqual(['i3']);
  });

  it('pauses, not done, while its own files wait for what is in the way; resume or a cancel lets it write again', async () => {
    const { ledger, loader } = batch(2, 2);
    await startNext(ledger, loader);
    for (const id of ['i1', 'i2']) ledger.settle(result(id, 'succeeded'));
    expect(ledger.done()).toBe(true);
    const why = 'the output folder /out/b cannot be written: a symbolic link is in the way (/out/b/.imagebatch/x)';
    ledger.pauseToSave(why);
    // Every item has ended, but its results are not written: a follower sees the batch stopped, saying why.
    expect(ledger.progress()).toMatchObject({ paused: true, done: false, running: 0, stopped: `paused: ${why}` });
    expect(ledger.mayTrySaveAgain).toBe(false);
    expect(ledger.resume('strict').message).toBe('resumed');
    expect(ledger.mayTrySaveAgain).toBe(true);
    ledger.savingAgain();
    expect(ledger.progress()).toMatchObject({ paused: false, done: true });
    expect(ledger.progress().stopped).toBeUndefined();
    // A cancel lets it try again too (nobody would resume a batch being cancelled).
    ledger.pauseToSave(why);
    ledger.cancel(undefined, undefined, 'strict');
    expect(ledger.mayTrySaveAgain).toBe(true);
  });
});

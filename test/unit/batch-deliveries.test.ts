// The rules of a batch's image webhooks (`--webhook-events image`) without a server: one delivery per image that
// ends, with an id that is the same in every run and differs for a retry; none for a report that is not an end; a
// delivery leaves the state only once it has ended, so continue-as-new carries those still running.
import { describe, expect, it } from 'vitest';
import type { BatchInput } from '../../src/shared/batch-types';
import type { ImageItem, ImageResult } from '../../src/shared/types';
import { BatchLedger, type ItemLoader, type Positions } from '../../src/workflows/batch-ledger';

const list: ImageItem[] = [
  { id: 'cat', prompt: 'a cat' },
  { id: 'fox-1', prompt: 'a fox', group: 'fox', variant: 1 },
  { id: 'fox-2', prompt: 'a fox', group: 'fox', variant: 2 },
];
const loader: ItemLoader = {
  at: async (i) => list[i],
  byIds: async (ids) => list.filter((x) => ids.includes(x.id)),
};
const positions: Positions = new Map(list.map((x, i) => [x.id, i]));

function ledgerOf(state?: BatchInput['state'], maxSubmissions?: number, deliver = true): BatchLedger {
  const ledger = new BatchLedger({
    batchId: 'b',
    items: { kind: 'inline', items: list },
    outDir: '/out/b',
    provider: 'volcengine',
    concurrency: 3,
    policy: { pollIntervalMs: 100, maxWaitMs: 1000, retries: 0, simplifications: 0, expectedLatencyMs: 0 },
    webhook: 'http://127.0.0.1/hook',
    webhookEvents: ['image', 'batch'],
    state,
    maxSubmissions,
  });
  if (deliver) ledger.deliverImages('batch-b/run-1');
  return ledger;
}

async function startAll(ledger: BatchLedger): Promise<void> {
  for (const { item, round } of await ledger.takeNext(ledger.room(100), loader))
    ledger.started(item.id, `batch-b/${item.id}${round ? `/r${round}` : ''}`, item);
}

const result = (itemId: string, status: ImageResult['status'], more: Partial<ImageResult> = {}): ImageResult => ({
  itemId,
  status,
  provider: 'volcengine',
  attempts: 1,
  prompts: ['first', 'last'],
  ...more,
});

describe('image webhook deliveries', () => {
  it('one per image that ends, as an events line, with its variant and a per-image id', async () => {
    const ledger = ledgerOf();
    await startAll(ledger);
    ledger.settle(result('fox-2', 'succeeded', { file: 'fox-2.png', sha256: 'ab' }));
    ledger.settle(result('cat', 'failed', { error: 'boom' }));
    expect(ledger.imageDeliveries!.hasNew()).toBe(true);
    const fresh = ledger.imageDeliveries!.takeNew();
    expect(ledger.imageDeliveries!.hasNew()).toBe(false);
    expect(fresh.map((d) => d.id)).toEqual(['batch-b/run-1/fox-2', 'batch-b/run-1/cat']);
    expect(fresh[0].event).toEqual({
      type: 'image',
      itemId: 'fox-2',
      group: 'fox',
      variant: 2,
      status: 'succeeded',
      file: 'fox-2.png',
      sha256: 'ab',
      provider: 'volcengine',
      prompt: 'last',
      attempts: 1,
      endedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(fresh[1].event).toMatchObject({ itemId: 'cat', status: 'failed', error: 'boom' });
    expect(fresh[1].event).not.toHaveProperty('group');
    // Started once per run; a repeated report of the same image is not a second delivery.
    ledger.settle(result('cat', 'failed'));
    expect(ledger.imageDeliveries!.takeNew()).toEqual([]);
    expect(ledger.imageDeliveries!.left).toBe(2);
  });

  it('a delivery leaves the state only when it has ended; the next run starts the rest again, same ids', async () => {
    const ledger = ledgerOf();
    await startAll(ledger);
    ledger.settle(result('cat', 'succeeded'));
    ledger.settle(result('fox-1', 'succeeded'));
    const [cat, fox] = ledger.imageDeliveries!.takeNew();
    ledger.imageDeliveries!.delivered(cat.id);
    // fox-2 is still running at continue-as-new: its variant travels too.
    const next = ledgerOf(ledger.carry());
    expect(next.imageDeliveries!.hasNew()).toBe(true);
    expect(next.imageDeliveries!.takeNew()).toEqual([fox]);
    next.settle(result('fox-2', 'succeeded'));
    const [fox2] = next.imageDeliveries!.takeNew();
    expect(fox2).toMatchObject({ id: 'batch-b/run-1/fox-2', event: { group: 'fox', variant: 2 } });
    next.imageDeliveries!.delivered(fox.id);
    next.imageDeliveries!.delivered(fox2.id);
    expect(next.imageDeliveries!.left).toBe(0);
  });

  it("a retried item's image is another delivery, named by its round", async () => {
    const ledger = ledgerOf();
    await startAll(ledger);
    ledger.settle(result('cat', 'failed', { error: 'boom' }));
    ledger.retry(['cat'], positions, 'strict');
    await startAll(ledger);
    ledger.settle(result('cat', 'succeeded'));
    const ids = ledger.imageDeliveries!.takeNew().map((d) => d.id);
    expect(ids).toEqual(['batch-b/run-1/cat', 'batch-b/run-1/cat/r1']);
  });

  it('an image stopped by the budget has not ended: no delivery until it ends', async () => {
    const ledger = ledgerOf(undefined, 10);
    await startAll(ledger);
    ledger.settle(result('cat', 'failed', { errorType: 'BudgetReached', tasks: 0 }));
    expect(ledger.imageDeliveries!.takeNew()).toEqual([]);
  });

  it('a batch that did not ask for them keeps no delivery state', async () => {
    const ledger = ledgerOf(undefined, undefined, false);
    await startAll(ledger);
    ledger.settle(result('fox-1', 'succeeded'));
    expect(ledger.imageDeliveries).toBeUndefined();
    expect(ledger.carry()).not.toHaveProperty('imageDeliveries');
    expect(ledger.carry()).not.toHaveProperty('variants');
  });
});

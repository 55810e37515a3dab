// Leases of an account's slots without a server: the account's side (grants to leases, fair shares, caps that take
// slots back, throttles and successes told by the batch, a lease adopted after a restart) and the batch's side
// (slots handed from an image that ended to the next, surplus given back under a cap).
import { describe, expect, it } from 'vitest';
import type { AccountRef, BatchLeaseState, LeaseRequest } from '../../src/shared/accounts';
import { AccountLimiter } from '../../src/workflows/account-limiter';
import { BatchLeaseBook } from '../../src/workflows/batch-lease-book';
import { fairShares } from '../../src/workflows/account-shares';

const ACCOUNT: AccountRef = { workflowId: 'account-volcengine-x', provider: 'volcengine', label: 'volcengine at x' };
const lease = (batch: string, r: Partial<LeaseRequest>): LeaseRequest => ({
  holder: `batch-${batch}`,
  batchId: batch,
  want: 0,
  held: 0,
  ...r,
});

/** Grants, then the notices the account would send, by holder. */
function settle(l: AccountLimiter, now = 0) {
  l.grants(now);
  return Object.fromEntries(l.notices().map(({ holder, ...n }) => [holder, n]));
}

describe('AccountLimiter with leases', () => {
  it('grants a lease what it wants under the limit, and answers an ask of nothing', () => {
    const l = new AccountLimiter(ACCOUNT, undefined, 3);
    l.lease(lease('a', { want: 5, ask: true }), 0, 1000);
    expect(settle(l)).toEqual({ 'batch-a': { granted: 3, cap: 3 } });
    expect(l.state()).toMatchObject({ inFlight: 3, waiting: 2, waitingByBatch: { a: 2 } });
    l.lease(lease('b', { want: 2, ask: true }), 0, 1000);
    l.grants();
    expect(l.notices('batch-b')).toEqual([
      { holder: 'batch-a', granted: 0, cap: 2 },
      { holder: 'batch-b', granted: 0, cap: 1 },
    ]);
  });

  it('takes slots back to fair shares when a second batch asks, and gives them to it as they come back', () => {
    const l = new AccountLimiter(ACCOUNT, undefined, 4);
    l.lease(lease('a', { want: 4 }), 0, 1000);
    expect(settle(l)).toEqual({ 'batch-a': { granted: 4, cap: undefined } });
    l.lease(lease('b', { want: 4 }), 0, 1000);
    // The first batch is capped at 2 (told), the second waits for the slots it gives back.
    expect(settle(l)).toEqual({ 'batch-a': { granted: 0, cap: 2 } });
    l.lease(lease('a', { want: 4, held: 3, returned: 1 }), 0, 1000);
    expect(settle(l)).toEqual({ 'batch-b': { granted: 1, cap: 2 } });
    l.lease(lease('a', { want: 4, held: 2, returned: 1 }), 0, 1000);
    expect(settle(l)).toEqual({ 'batch-b': { granted: 1, cap: 2 } });
    expect(l.state().leases).toEqual({
      'batch-a': { batchId: 'a', held: 2, want: 4, cap: 2 },
      'batch-b': { batchId: 'b', held: 2, want: 4, cap: 2 },
    });
    // The second batch ends: its slots go back and the first may grow again (its cap is lifted).
    l.lease(lease('b', { want: 0, held: 0, returned: 2 }), 0, 1000);
    expect(settle(l)).toEqual({ 'batch-a': { granted: 2, cap: undefined } });
  });

  it('a limit set lower caps the leases; one set higher grants at once', () => {
    const l = new AccountLimiter(ACCOUNT, undefined, 1);
    l.lease(lease('a', { want: 5 }), 0, 1000);
    settle(l);
    l.setLimit(3);
    settle(l);
    expect(l.state()).toMatchObject({ limit: 3, inFlight: 3, waiting: 2 });
    l.setLimit(1);
    expect(settle(l)).toEqual({ 'batch-a': { granted: 0, cap: 1 } });
  });

  it('learns the limit from throttles a batch gives back, one at a time, and grows on reported successes', () => {
    const l = new AccountLimiter(ACCOUNT);
    l.lease(lease('a', { want: 8 }), 0, 1000);
    settle(l);
    // 6 of 8 refused: as six images giving their slots back in turn (7, 6, ... others in flight).
    l.lease(lease('a', { want: 2, held: 2, returned: 6, throttled: 6 }), 0, 1000);
    expect(l.state()).toMatchObject({ learnedLimit: 2, throttles: 6, inFlight: 2 });
    expect(l.notices()).toEqual([]);
    l.lease(lease('a', { want: 3, held: 2, successes: 8 }), 0, 1000);
    expect(l.state()).toMatchObject({ learnedLimit: 3 });
    expect(settle(l)).toEqual({ 'batch-a': { granted: 1, cap: undefined, reportEvery: 12 } });
  });

  it('adopts the slots of a lease it does not know, and grants nothing for a check interval', () => {
    const l = new AccountLimiter(ACCOUNT, undefined, 2);
    l.lease(lease('a', { want: 3, held: 1 }), 5000, 1000);
    l.lease(lease('b', { want: 3, held: 1 }), 5500, 1000);
    expect(settle(l, 5900)).toEqual({});
    expect(l.state()).toMatchObject({ inFlight: 2 });
    l.lease(lease('a', { want: 0, held: 0, returned: 1 }), 7000, 1000);
    expect(settle(l, 7000)).toEqual({ 'batch-b': { granted: 1, cap: 2 } });
  });

  it('forgets the lease of a batch that has closed', () => {
    const l = new AccountLimiter(ACCOUNT, undefined, 2);
    l.lease(lease('a', { want: 2 }), 0, 1000);
    settle(l);
    expect(l.holderIds()).toEqual(['batch-a']);
    expect(l.forget(['batch-a'])).toBeGreaterThan(0);
    expect(l.state()).toMatchObject({ inFlight: 0, waiting: 0 });
  });
});

describe('fairShares', () => {
  it('gives each batch up to an equal share and the rest to those that want more', () => {
    const shares = fairShares(
      5,
      new Map([
        ['a', 10],
        ['b', 1],
        ['c', 10],
      ]),
      new Map([['c', 3]]),
    );
    expect(Object.fromEntries(shares)).toEqual({ a: 2, b: 1, c: 2 });
  });
});

describe('BatchLeaseBook', () => {
  function book(mayStartMore = true) {
    const leases: Record<string, BatchLeaseState> = {};
    const children: Record<string, string> = {};
    const b = new BatchLeaseBook(
      leases,
      (id) => children[id],
      () => mayStartMore,
    );
    const join = (id: string) => {
      children[id] = `c-${id}`;
      return b.join(ACCOUNT, id, `c-${id}`);
    };
    return { b, leases, join, id: ACCOUNT.workflowId };
  }

  it('asks for the slots a burst lacks, once, and starts images holding what was granted', () => {
    const { b, join, id } = book();
    expect(b.reserve(ACCOUNT, 3)).toEqual({ want: 3, held: 0, ask: true });
    expect(b.answered(id)).toBe(false);
    b.notice({ account: id, granted: 2 });
    expect([join('1'), join('2'), join('3')]).toEqual([true, true, false]);
    // The account knows the want of 3 already.
    expect(b.moves(id)).toEqual({ give: [], message: undefined });
  });

  it('hands the slot of an image that ended to the next waiting one, telling the account nothing', () => {
    const { b, join, id } = book();
    b.reserve(ACCOUNT, 2);
    b.notice({ account: id, granted: 1 });
    join('1');
    join('2');
    b.moves(id);
    b.leave('1', { succeeded: true });
    // Nothing for the account: it was told a want of 2 (a smaller one waits for the next message).
    expect(b.moves(id)).toEqual({ give: [['2', 'c-2']], message: undefined });
    // A third image takes the free slot of the second when it ends: nothing to say.
    b.leave('2', { succeeded: true });
    expect(join('3')).toBe(true);
    expect(b.moves(id)).toEqual({ give: [], message: undefined });
  });

  it('under a cap gives back the surplus as images end, then an idle slot it has no image for', () => {
    const { b, join, id } = book(false);
    b.reserve(ACCOUNT, 3);
    b.notice({ account: id, granted: 3 });
    join('1');
    join('2');
    join('3');
    b.notice({ account: id, granted: 0, cap: 1 });
    expect(b.moves(id)).toEqual({ give: [], message: undefined });
    b.leave('1');
    expect(b.moves(id).message).toEqual({ want: 2, held: 2, returned: 1, throttled: 0 });
    b.leave('2');
    expect(b.moves(id).message).toEqual({ want: 1, held: 1, returned: 1, throttled: 0 });
  });

  it('a throttled image gives its slot back at once and asks again after its wait', () => {
    const { b, join, id } = book();
    b.reserve(ACCOUNT, 1);
    b.notice({ account: id, granted: 1 });
    join('1');
    b.throttled('1');
    expect(b.moves(id).message).toEqual({ want: 0, held: 0, returned: 1, throttled: 1 });
    expect(b.wants('1')).toBe(id);
    expect(b.moves(id).message).toEqual({ want: 1, held: 0 });
    b.notice({ account: id, granted: 1 });
    expect(b.moves(id).give).toEqual([['1', 'c-1']]);
  });

  it('gives every slot back at the end', () => {
    const { b, join, id } = book(false);
    b.reserve(ACCOUNT, 2);
    b.notice({ account: id, granted: 2 });
    join('1');
    b.leave('1');
    expect(b.returnAll()).toEqual([[id, { want: 0, held: 0, returned: 2, throttled: 0 }]]);
    // A grant on its way meanwhile goes back as it comes.
    b.notice({ account: id, granted: 1 });
    expect(b.moves(id).message).toEqual({ want: 0, held: 0, returned: 1, throttled: 0 });
  });
});

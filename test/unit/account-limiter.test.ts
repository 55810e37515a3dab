// An account's slot rules without a server: grants under the limit, round robin between batches, learning the
// limit from throttles (and growing it back), and slots of holders that are gone.
import { describe, expect, it } from 'vitest';
import type { AccountRef } from '../../src/shared/accounts';
import { AccountLimiter, GROW_AFTER_ROUNDS } from '../../src/workflows/account-limiter';

const ACCOUNT: AccountRef = { workflowId: 'account-volcengine-x', provider: 'volcengine', label: 'volcengine at x' };
const req = (batchId: string, n: number) => ({
  token: `${batchId}-${n}`,
  holder: `batch-${batchId}/${n}`,
  batchId,
  itemId: `${n}`,
});
const tokens = (l: AccountLimiter) => l.grants().map((g) => g.token);

function requestAll(l: AccountLimiter, batchId: string, count: number) {
  for (let n = 1; n <= count; n++) l.request(req(batchId, n), 0);
}

describe('AccountLimiter', () => {
  it('grants every request while no limit is known', () => {
    const l = new AccountLimiter(ACCOUNT);
    requestAll(l, 'a', 5);
    expect(tokens(l)).toHaveLength(5);
    expect(l.state()).toMatchObject({ inFlight: 5, waiting: 0, limit: undefined });
  });

  it('holds a set limit, and grants the next waiter as a slot comes back', () => {
    const l = new AccountLimiter(ACCOUNT, undefined, 2);
    requestAll(l, 'a', 4);
    expect(tokens(l)).toEqual(['a-1', 'a-2']);
    expect(tokens(l)).toEqual([]);
    l.release({ token: 'a-1', submitted: true });
    expect(tokens(l)).toEqual(['a-3']);
    expect(l.state()).toMatchObject({ inFlight: 2, waiting: 1, setLimit: 2, limit: 2, granted: 3, maxInFlight: 2 });
  });

  it('ignores a repeated request and withdraws one not granted yet', () => {
    const l = new AccountLimiter(ACCOUNT, undefined, 1);
    requestAll(l, 'a', 2);
    l.request(req('a', 2), 0);
    expect(tokens(l)).toEqual(['a-1']);
    l.release({ token: 'a-2' });
    expect(l.state()).toMatchObject({ inFlight: 1, waiting: 0 });
  });

  it('takes turns between batches: a small batch started later is not starved by a large one', () => {
    const l = new AccountLimiter(ACCOUNT, undefined, 2);
    requestAll(l, 'big', 20);
    expect(tokens(l)).toEqual(['big-1', 'big-2']);
    requestAll(l, 'small', 3);
    const held = ['big-1', 'big-2'];
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      l.release({ token: held.shift()!, submitted: true });
      const granted = tokens(l);
      held.push(...granted);
      order.push(...granted);
    }
    expect(order).toEqual(['small-1', 'big-3', 'small-2', 'big-4', 'small-3', 'big-5']);
  });

  it('learns the limit from a throttle: the others in flight when the provider refused', () => {
    const l = new AccountLimiter(ACCOUNT);
    requestAll(l, 'a', 5);
    tokens(l);
    l.release({ token: 'a-5', throttled: true });
    expect(l.state()).toMatchObject({ learnedLimit: 4, limit: 4, throttles: 1 });
    l.release({ token: 'a-4', throttled: true });
    expect(l.limit).toBe(3);
    // Throttled again at or under the learned limit: something else uses the account, so halve.
    l.request(req('a', 6), 0);
    expect(tokens(l)).toEqual([]);
    l.release({ token: 'a-1', throttled: true });
    expect(l.limit).toBe(2);
  });

  it('grows a learned limit back by one after enough successful submits, never above a set limit', () => {
    const l = new AccountLimiter(ACCOUNT, undefined, 3);
    requestAll(l, 'a', 3);
    tokens(l);
    l.release({ token: 'a-3', throttled: true });
    expect(l.limit).toBe(2);
    l.release({ token: 'a-1', submitted: true });
    l.release({ token: 'a-2', submitted: true });
    let n = 100;
    const succeed = (times: number) => {
      for (let i = 0; i < times; i++) {
        l.request(req('b', ++n), 0);
        tokens(l);
        l.release({ token: `b-${n}`, submitted: true });
      }
    };
    succeed(GROW_AFTER_ROUNDS * 2 - 3);
    expect(l.limit).toBe(2);
    succeed(1);
    expect(l.state()).toMatchObject({ learnedLimit: undefined, limit: 3 });
  });

  it('a limit set by hand applies at once and starts the learning over', () => {
    const l = new AccountLimiter(ACCOUNT, undefined, 1);
    requestAll(l, 'a', 4);
    expect(tokens(l)).toEqual(['a-1']);
    l.setLimit(3);
    expect(tokens(l)).toEqual(['a-2', 'a-3']);
    l.setLimit(undefined);
    expect(tokens(l)).toEqual(['a-4']);
  });

  it('gives back the slots and requests of holders that are gone', () => {
    const l = new AccountLimiter(ACCOUNT, undefined, 1);
    requestAll(l, 'a', 3);
    tokens(l);
    expect(l.holderIds().sort()).toEqual(['batch-a/1', 'batch-a/2', 'batch-a/3']);
    expect(l.forget(['batch-a/1', 'batch-a/3'])).toBe(2);
    expect(tokens(l)).toEqual(['a-2']);
    expect(l.busy()).toBe(true);
  });

  it('carries everything to the next run', () => {
    const l = new AccountLimiter(ACCOUNT, undefined, 1);
    requestAll(l, 'a', 2);
    tokens(l);
    const next = new AccountLimiter(ACCOUNT, structuredClone(l.carry()));
    next.release({ token: 'a-1', submitted: true });
    expect(tokens(next)).toEqual(['a-2']);
    expect(next.state()).toMatchObject({ setLimit: 1, granted: 2 });
  });
});

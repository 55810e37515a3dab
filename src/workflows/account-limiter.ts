// One provider account's slots and their rules, in a plain class (no Temporal calls): who holds a slot, who waits,
// the limit (set by the user, or learned from throttle answers), and whose turn is next.
import {
  type AccountRef,
  type AccountState,
  MAX_ACCOUNT_LIMIT,
  type SlotRelease,
  type SlotRequest,
} from '../shared/accounts';

interface Waiter extends SlotRequest {
  since: number;
}

/** Everything the account hands to its next run at continue-as-new. */
export interface AccountCarry {
  account: AccountRef;
  setLimit?: number;
  learnedLimit?: number;
  /** Submits that succeeded since the learned limit last changed: the additive increase counts them. */
  successes: number;
  holders: Record<string, Waiter>;
  waiting: Waiter[];
  /** When each batch with waiters was last granted a slot (grant number): the least recently served goes next. */
  served: Record<string, number>;
  throttles: number;
  granted: number;
  maxInFlight: number;
}

/** A learned limit grows by one after this many times its value in successful submits without a throttle. */
export const GROW_AFTER_ROUNDS = 4;

export class AccountLimiter {
  private c: AccountCarry;

  constructor(account: AccountRef, carried?: AccountCarry, setLimit?: number) {
    this.c = carried ?? {
      account,
      setLimit,
      successes: 0,
      holders: {},
      waiting: [],
      served: {},
      throttles: 0,
      granted: 0,
      maxInFlight: 0,
    };
  }

  /** The limit enforced now: the lower of the set and the learned one; undefined: none. */
  get limit(): number | undefined {
    const { setLimit, learnedLimit } = this.c;
    if (setLimit === undefined) return learnedLimit;
    return learnedLimit === undefined ? setLimit : Math.min(setLimit, learnedLimit);
  }

  get inFlight(): number {
    return Object.keys(this.c.holders).length;
  }

  /** Whether anything holds or waits for a slot (the account then watches for holders that are gone). */
  busy(): boolean {
    return this.inFlight > 0 || this.c.waiting.length > 0;
  }

  /** The workflows that hold or wait for a slot. */
  holderIds(): string[] {
    return [...new Set([...Object.values(this.c.holders), ...this.c.waiting].map((w) => w.holder))];
  }

  request(r: SlotRequest, now: number): void {
    if (r.token in this.c.holders || this.c.waiting.some((w) => w.token === r.token)) return; // a repeat
    this.c.waiting.push({ ...r, since: now });
  }

  release(r: SlotRelease): void {
    if (!(r.token in this.c.holders)) {
      this.c.waiting = this.c.waiting.filter((w) => w.token !== r.token);
      return;
    }
    delete this.c.holders[r.token];
    if (r.throttled) this.throttled();
    else if (r.submitted) this.succeeded();
  }

  /**
   * The provider refused a submit for its limit while the others held their slots: its limit is about that many.
   * Shrink to it; already at or under it, halve (something else uses the account too).
   */
  private throttled(): void {
    this.c.throttles++;
    const others = this.inFlight;
    const current = this.limit ?? Infinity;
    this.c.learnedLimit = Math.max(1, others < current ? others : Math.floor(current / 2));
    this.c.successes = 0;
  }

  /** Additive increase: grow back by one after GROW_AFTER_ROUNDS full rounds of successful submits. */
  private succeeded(): void {
    const learned = this.c.learnedLimit;
    if (learned === undefined) return;
    if (++this.c.successes < GROW_AFTER_ROUNDS * learned) return;
    this.c.successes = 0;
    // Never above a set limit: once there, the learned one has nothing left to say.
    const ceiling = this.c.setLimit ?? MAX_ACCOUNT_LIMIT;
    this.c.learnedLimit = learned + 1 >= ceiling ? undefined : learned + 1;
  }

  setLimit(n: number | undefined): void {
    this.c.setLimit = n;
    // A limit set by hand starts the learning over.
    this.c.learnedLimit = undefined;
    this.c.successes = 0;
  }

  /**
   * The requests that get a slot now: while there is room, the oldest waiter of the batch served least recently
   * (round robin between batches; a batch that has not been served yet goes first).
   */
  grants(): SlotRequest[] {
    const out: SlotRequest[] = [];
    while (this.c.waiting.length && this.inFlight < (this.limit ?? Infinity)) {
      let i = 0;
      for (let k = 1; k < this.c.waiting.length; k++)
        if (this.lastServed(this.c.waiting[k].batchId) < this.lastServed(this.c.waiting[i].batchId)) i = k;
      const [w] = this.c.waiting.splice(i, 1);
      this.c.holders[w.token] = w;
      this.c.served[w.batchId] = ++this.c.granted;
      this.c.maxInFlight = Math.max(this.c.maxInFlight, this.inFlight);
      const { since: _since, ...request } = w;
      out.push(request);
    }
    // Batches with nobody waiting leave the rotation (one that comes back starts as new).
    const waiting = new Set(this.c.waiting.map((w) => w.batchId));
    for (const b of Object.keys(this.c.served)) if (!waiting.has(b)) delete this.c.served[b];
    return out;
  }

  private lastServed(batchId: string): number {
    return this.c.served[batchId] ?? 0;
  }

  /** Slots and requests of workflows that have closed (terminated by hand, cancelled) come back. */
  forget(closedHolders: string[]): number {
    const gone = new Set(closedHolders);
    const before = this.inFlight + this.c.waiting.length;
    for (const [token, w] of Object.entries(this.c.holders)) if (gone.has(w.holder)) delete this.c.holders[token];
    this.c.waiting = this.c.waiting.filter((w) => !gone.has(w.holder));
    return before - this.inFlight - this.c.waiting.length;
  }

  state(): AccountState {
    const waitingByBatch: Record<string, number> = {};
    for (const w of this.c.waiting) waitingByBatch[w.batchId] = (waitingByBatch[w.batchId] ?? 0) + 1;
    return {
      account: this.c.account,
      setLimit: this.c.setLimit,
      learnedLimit: this.c.learnedLimit,
      limit: this.limit,
      inFlight: this.inFlight,
      waiting: this.c.waiting.length,
      waitingByBatch,
      throttles: this.c.throttles,
      granted: this.c.granted,
      maxInFlight: this.c.maxInFlight,
    };
  }

  carry(): AccountCarry {
    return this.c;
  }
}

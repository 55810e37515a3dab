// One provider account's slots and their rules, in a plain class (no Temporal calls): who holds a slot, who waits,
// the limit (set by the user, or learned from throttle answers), and whose turn is next. Two kinds of claim share
// the slots: an image that asks alone (one slot), and a batch's lease (as many as its images want, handed on by the
// batch itself); the turns go round the batches either way, and a lease is capped at its fair share when others wait.
import {
  type AccountRef,
  type AccountState,
  type LeaseRequest,
  MAX_ACCOUNT_LIMIT,
  type SlotRelease,
  type SlotRequest,
} from '../shared/accounts';
import { fairShares } from './account-shares';

interface Waiter extends SlotRequest {
  since: number;
}

/** A batch's lease: `held` slots granted and not given back, `want` what its images hold or wait for. */
export interface Lease {
  holder: string;
  batchId: string;
  held: number;
  want: number;
  /** Hold no more than this (set while others wait, or the limit is under what is held). */
  cap?: number;
}

/** What the account tells a lease holder: the slots granted since the last notice, and its cap. */
export interface LeaseNoticeFor {
  holder: string;
  granted: number;
  cap?: number;
  reportEvery?: number;
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
  /** Batches' leases by holder (absent in carries from before leases). */
  leases?: Record<string, Lease>;
  /**
   * Until then (workflow time) nothing is granted: a lease was adopted, so the account was restarted and has not
   * heard of every lease yet (each batch tells its whole lease within a check interval).
   */
  recoverUntil?: number;
}

/** A learned limit grows by one after this many times its value in successful submits without a throttle. */
export const GROW_AFTER_ROUNDS = 4;

export class AccountLimiter {
  private c: AccountCarry;
  /** Slots granted to each lease since its last notice; holders whose cap fell (they must hear of it). */
  private granting = new Map<string, number>();
  private capped = new Set<string>();

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

  private get leases(): Lease[] {
    return Object.values(this.c.leases ?? {});
  }

  get inFlight(): number {
    return Object.keys(this.c.holders).length + this.leases.reduce((n, l) => n + l.held, 0);
  }

  /** Whether anything holds or waits for a slot (the account then watches for holders that are gone). */
  busy(): boolean {
    return this.inFlight > 0 || this.c.waiting.length > 0 || this.leases.some((l) => l.want > 0);
  }

  /** The workflows that hold or wait for a slot (images, and batches holding leases). */
  holderIds(): string[] {
    const images = [...Object.values(this.c.holders), ...this.c.waiting].map((w) => w.holder);
    return [...new Set([...images, ...this.leases.map((l) => l.holder)])];
  }

  /**
   * A batch's lease message: slots given back (each throttle teaches the limit, as an image's would), successes
   * counted, and what it wants now. A lease the account does not know (it was restarted or terminated by hand since)
   * is adopted with the slots the batch says it holds: they are in use at the provider.
   */
  /** Grants nothing until `at` (workflow time): the account restarted, and leases of its last run may be out. */
  recoverUntil(at: number): void {
    this.c.recoverUntil = Math.max(this.c.recoverUntil ?? 0, at);
  }

  lease(r: LeaseRequest, now: number, recoverMs: number): void {
    const leases = (this.c.leases ??= {});
    let l = leases[r.holder];
    const throttled = r.throttled ?? 0;
    if (!l && r.held > 0) this.recoverUntil(now + recoverMs);
    if (!l) l = leases[r.holder] = { holder: r.holder, batchId: r.batchId, held: r.held + throttled, want: r.want };
    else l.held = Math.max(0, l.held - ((r.returned ?? 0) - throttled));
    // One throttled slot at a time, as images give theirs back: each throttle sees the others still in flight.
    for (let i = 0; i < throttled; i++) {
      l.held = Math.max(0, l.held - 1);
      this.throttled();
    }
    for (let i = 0; i < (r.successes ?? 0); i++) this.succeeded();
    l.want = r.want;
    if (l.held === 0 && l.want === 0) delete leases[r.holder];
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
   * (round robin between batches; a batch that has not been served yet goes first). A lease that wants more than it
   * holds (and is under its cap) takes its batch's turn like a waiting image; what it gets is in notices().
   */
  grants(now = 0): SlotRequest[] {
    if (this.c.recoverUntil !== undefined && now < this.c.recoverUntil) return [];
    this.setCaps();
    const out: SlotRequest[] = [];
    while (this.inFlight < (this.limit ?? Infinity)) {
      let i = -1;
      for (let k = 0; k < this.c.waiting.length; k++)
        if (i < 0 || this.lastServed(this.c.waiting[k].batchId) < this.lastServed(this.c.waiting[i].batchId)) i = k;
      let lease: Lease | undefined;
      for (const l of this.leases) {
        if (l.held >= Math.min(l.want, l.cap ?? Infinity)) continue;
        const best = lease?.batchId ?? (i >= 0 ? this.c.waiting[i].batchId : undefined);
        if (best === undefined || this.lastServed(l.batchId) < this.lastServed(best)) lease = l;
      }
      if (lease) {
        lease.held++;
        this.granting.set(lease.holder, (this.granting.get(lease.holder) ?? 0) + 1);
        this.c.served[lease.batchId] = ++this.c.granted;
      } else if (i >= 0) {
        const [w] = this.c.waiting.splice(i, 1);
        this.c.holders[w.token] = w;
        this.c.served[w.batchId] = ++this.c.granted;
        const { since: _since, ...request } = w;
        out.push(request);
      } else break;
      this.c.maxInFlight = Math.max(this.c.maxInFlight, this.inFlight);
    }
    this.setCaps();
    // Batches with nobody waiting leave the rotation (one that comes back starts as new).
    const waiting = new Set(this.c.waiting.map((w) => w.batchId));
    for (const l of this.leases) if (l.held < l.want) waiting.add(l.batchId);
    for (const b of Object.keys(this.c.served)) if (!waiting.has(b)) delete this.c.served[b];
    return out;
  }

  /**
   * Caps the leases at their fair share while slots are short (someone waits with every slot taken, or the limit is
   * under what is held): a lease over its share gives the surplus back as its images end. No cap otherwise.
   */
  private setCaps(): void {
    const leases = this.leases;
    if (!leases.length) return;
    const limit = this.limit;
    // Short: the batches and images want more than the limit (or hold more than it): a free slot now and then does
    // not lift the caps, or a capped lease would take it back before the batch that waits.
    const wanted =
      Object.keys(this.c.holders).length +
      this.c.waiting.length +
      leases.reduce((n, l) => n + Math.max(l.want, l.held), 0);
    const short = limit !== undefined && wanted > limit;
    if (!short) {
      for (const l of leases) l.cap = undefined;
      return;
    }
    const demand = new Map<string, number>();
    const held = new Map<string, number>();
    const add = (m: Map<string, number>, b: string, n: number) => m.set(b, (m.get(b) ?? 0) + n);
    const alone = new Map<string, number>();
    for (const w of [...Object.values(this.c.holders), ...this.c.waiting]) add(demand, w.batchId, 1);
    for (const w of Object.values(this.c.holders)) add(alone, w.batchId, 1);
    for (const l of leases) {
      add(demand, l.batchId, Math.max(l.want, 0));
      add(held, l.batchId, l.held);
    }
    const shares = fairShares(limit, demand, held);
    for (const l of leases) {
      const share = Math.max(0, (shares.get(l.batchId) ?? 0) - (alone.get(l.batchId) ?? 0));
      if (l.held > share && (l.cap === undefined || share < l.cap)) this.capped.add(l.holder);
      l.cap = share;
    }
  }

  /** The leases to tell now: those granted slots or capped lower since the last notices, and `asker`'s. */
  notices(asker?: string): LeaseNoticeFor[] {
    const holders = new Set([...this.granting.keys(), ...this.capped]);
    if (asker) holders.add(asker);
    const learned = this.c.learnedLimit;
    const reportEvery = learned === undefined ? undefined : GROW_AFTER_ROUNDS * learned;
    const out = [...holders].map((holder) => ({
      holder,
      granted: this.granting.get(holder) ?? 0,
      cap: this.c.leases?.[holder]?.cap,
      reportEvery,
    }));
    this.granting.clear();
    this.capped.clear();
    return out;
  }

  private lastServed(batchId: string): number {
    return this.c.served[batchId] ?? 0;
  }

  /** Slots and requests of workflows that have closed (terminated by hand, cancelled) come back. */
  forget(closedHolders: string[]): number {
    const gone = new Set(closedHolders);
    const before = Object.keys(this.c.holders).length + this.c.waiting.length;
    for (const [token, w] of Object.entries(this.c.holders)) if (gone.has(w.holder)) delete this.c.holders[token];
    this.c.waiting = this.c.waiting.filter((w) => !gone.has(w.holder));
    let leased = 0;
    for (const l of this.leases)
      if (gone.has(l.holder)) {
        leased += l.held + l.want;
        delete this.c.leases?.[l.holder];
      }
    return before - Object.keys(this.c.holders).length - this.c.waiting.length + leased;
  }

  state(): AccountState {
    const waitingByBatch: Record<string, number> = {};
    for (const w of this.c.waiting) waitingByBatch[w.batchId] = (waitingByBatch[w.batchId] ?? 0) + 1;
    const leases: AccountState['leases'] = {};
    let leaseWaiting = 0;
    for (const l of this.leases) {
      const short = Math.max(0, l.want - l.held);
      leaseWaiting += short;
      if (short) waitingByBatch[l.batchId] = (waitingByBatch[l.batchId] ?? 0) + short;
      leases[l.holder] = { batchId: l.batchId, held: l.held, want: l.want, ...(l.cap !== undefined && { cap: l.cap }) };
    }
    return {
      account: this.c.account,
      setLimit: this.c.setLimit,
      learnedLimit: this.c.learnedLimit,
      limit: this.limit,
      inFlight: this.inFlight,
      waiting: this.c.waiting.length + leaseWaiting,
      waitingByBatch,
      throttles: this.c.throttles,
      granted: this.c.granted,
      maxInFlight: this.c.maxInFlight,
      ...(this.leases.length && { leases }),
    };
  }

  carry(): AccountCarry {
    return this.c;
  }
}

// A batch's leases of its provider accounts' slots, in a plain class (no Temporal calls): which of its images holds
// a slot, which wait for one, what the account must hear (slots given back, throttles, successes, a larger want).
// The batch hands a slot from an image that ended to the next one itself; the account hears only of changes.
import type { AccountRef, BatchLeaseState, LeaseNotice, LeaseRequest } from '../shared/accounts';

/** What a change asks of the workflow: give these images a slot, and send the account this (if anything). */
export interface LeaseMoves {
  give: [itemId: string, childId: string][];
  message?: Omit<LeaseRequest, 'holder' | 'batchId'>;
}

/** Slots given back and told since the last message (never carried: a run sends them before it continues). */
interface Unsent {
  returned: number;
  throttled: number;
}

export class BatchLeaseBook {
  private readonly unsent = new Map<string, Unsent>();
  /** Accounts whose answer to an ask has not come yet. */
  private readonly asked = new Set<string>();
  /** Images about to start on each account (reserve() to the end of the burst): they count in the want. */
  private readonly reserved = new Map<string, number>();
  /** The batch has given everything back (returnAll): a late grant goes back at once. */
  private ended = false;

  /**
   * `leases`: the batch's state (carried across continue-as-new), by account workflow id; `childOf`: the child that
   * runs an item now; `mayStartMore`: whether the batch may still start images (else an idle slot has no use).
   */
  constructor(
    private readonly leases: Record<string, BatchLeaseState>,
    private readonly childOf: (itemId: string) => string | undefined,
    private readonly mayStartMore: () => boolean,
  ) {}

  lease(account: AccountRef): BatchLeaseState {
    return (this.leases[account.workflowId] ??= { account, held: 0, holders: {}, waiting: [], told: 0, successes: 0 });
  }

  get accounts(): string[] {
    return Object.keys(this.leases);
  }

  private free(l: BatchLeaseState): number {
    return l.held - Object.keys(l.holders).length;
  }

  private want(l: BatchLeaseState): number {
    return Object.keys(l.holders).length + l.waiting.length + (this.reserved.get(l.account.workflowId) ?? 0);
  }

  /** The item's child starts on the account: true if it holds a slot from the start, else it waits for one. */
  join(account: AccountRef, itemId: string, childId: string): boolean {
    const l = this.lease(account);
    const reserved = this.reserved.get(account.workflowId) ?? 0;
    if (reserved > 0) this.reserved.set(account.workflowId, reserved - 1);
    if (this.free(l) > 0 && !l.waiting.length) {
      l.holders[itemId] = childId;
      return true;
    }
    l.waiting.push(itemId);
    return false;
  }

  accountOf(id: string): AccountRef | undefined {
    return this.leases[id]?.account;
  }

  private find(itemId: string): [string, BatchLeaseState] | undefined {
    return Object.entries(this.leases).find(
      ([, l]) => itemId in l.holders || l.waiting.includes(itemId) || l.resting?.includes(itemId),
    );
  }

  /** The item left its lease (it ended, or moved to another provider): its slot is free; `succeeded`: a task made. */
  leave(itemId: string, o: { succeeded?: boolean; throttled?: boolean } = {}): string | undefined {
    const found = this.find(itemId);
    if (!found) return undefined;
    const [id, l] = found;
    if (itemId in l.holders) {
      delete l.holders[itemId];
      if (o.succeeded) l.successes++;
      if (o.throttled) this.giveBack(id, l, 1, true);
    }
    l.waiting = l.waiting.filter((w) => w !== itemId);
    if (l.resting) l.resting = l.resting.filter((w) => w !== itemId);
    return id;
  }

  /**
   * The item's submit was throttled: its slot goes back to the account (teaching it); the image rests (the
   * provider's retry-after, or a backoff), then asks again.
   */
  throttled(itemId: string): string | undefined {
    const id = this.leave(itemId, { throttled: true });
    if (id) (this.leases[id].resting ??= []).push(itemId);
    return id;
  }

  /** The item (its throttle's wait over) wants a slot again. */
  wants(itemId: string): string | undefined {
    const found = this.find(itemId);
    if (!found) return undefined;
    const [id, l] = found;
    if (!l.resting?.includes(itemId)) return id;
    l.resting = l.resting.filter((w) => w !== itemId);
    l.waiting.push(itemId);
    return id;
  }

  private giveBack(id: string, l: BatchLeaseState, n: number, throttled = false): void {
    if (n <= 0) return;
    l.held -= n;
    const u = this.unsent.get(id) ?? { returned: 0, throttled: 0 };
    u.returned += n;
    if (throttled) u.throttled += n;
    this.unsent.set(id, u);
  }

  /** The account's notice: slots granted, its cap, how often to report successes and to ask again. */
  notice(n: LeaseNotice): string | undefined {
    const l = this.leases[n.account];
    this.asked.delete(n.account);
    if (!l) return undefined;
    l.held += n.granted;
    l.cap = n.cap;
    l.reportEvery = n.reportEvery;
    l.checkMs = n.checkMs;
    return n.account;
  }

  /**
   * Before `n` images start on the account: the message that asks for the slots they lack (the workflow waits for
   * its answer), or undefined when the lease has them or the account knows the want already.
   */
  reserve(account: AccountRef, n: number): LeaseMoves['message'] {
    const l = this.lease(account);
    if (this.free(l) - l.waiting.length >= n) return undefined;
    const want = this.want(l) + n;
    this.reserved.set(account.workflowId, n);
    if (want <= l.told) return undefined;
    l.told = want;
    this.asked.add(account.workflowId);
    return { want, held: l.held, ask: true };
  }

  /** The burst has started: what it did not use is no longer wanted. */
  endBurst(): void {
    this.reserved.clear();
  }

  answered(accountId: string): boolean {
    return !this.asked.has(accountId);
  }

  /**
   * After any change: free slots go to waiting images, oldest first; a lease over its cap gives the surplus back,
   * and under a cap (others wait) so does an idle slot the batch has no image for. Then what the account must hear.
   */
  moves(id: string): LeaseMoves {
    const l = this.leases[id];
    if (!l) return { give: [] };
    if (l.cap !== undefined) this.giveBack(id, l, Math.min(this.free(l), l.held - l.cap));
    const give: LeaseMoves['give'] = [];
    while (this.free(l) > 0 && l.waiting.length) {
      const itemId = l.waiting.shift() as string;
      const childId = this.childOf(itemId);
      if (!childId) continue;
      l.holders[itemId] = childId;
      give.push([itemId, childId]);
    }
    if ((l.cap !== undefined || this.ended) && !this.mayStartMore()) this.giveBack(id, l, this.free(l));
    return { give, message: this.message(id, l) };
  }

  private message(id: string, l: BatchLeaseState): LeaseMoves['message'] {
    const u = this.unsent.get(id);
    const want = this.want(l);
    // The account hears of a want larger than it was told. A smaller one waits for the next message (or the batch's
    // check-in): an image that ends and the next that starts would otherwise cost two messages, and an extra slot
    // granted meanwhile is given back under a cap, or used by the next image.
    const wantNews = want > l.held && want > l.told;
    const report = l.reportEvery !== undefined && l.successes >= l.reportEvery;
    if (!u && !wantNews && !report) return undefined;
    this.unsent.delete(id);
    const successes = l.successes;
    l.successes = 0;
    l.told = want;
    return {
      want,
      held: l.held,
      ...(u && { returned: u.returned, throttled: u.throttled }),
      ...(successes && { successes }),
    };
  }

  /** Whether the batch holds or wants a slot of any account. */
  holding(): boolean {
    return Object.values(this.leases).some((l) => l.held > 0 || this.want(l) > 0);
  }

  /** How often the batch tells its leases: the account's holder check (its notices say), once one has come. */
  get checkMs(): number | undefined {
    const known = Object.values(this.leases).flatMap((l) => (l.checkMs === undefined ? [] : [l.checkMs]));
    return known.length ? Math.min(...known) : undefined;
  }

  /** The whole state of a lease, for an account that may not know it (restarted, or terminated by hand). */
  register(id: string): LeaseMoves['message'] {
    const l = this.leases[id];
    if (!l) return undefined;
    this.unsent.delete(id);
    l.told = this.want(l);
    const successes = l.successes;
    l.successes = 0;
    // A batch still waiting for an answer asks again: its ask may have gone to a run that was terminated unread.
    return { want: l.told, held: l.held, ...(successes && { successes }), ...(this.asked.has(id) && { ask: true }) };
  }

  /** The batch has ended: every slot goes back, and one granted after that goes back as it comes. */
  returnAll(): [string, NonNullable<LeaseMoves['message']>][] {
    this.ended = true;
    this.reserved.clear();
    return Object.entries(this.leases).map(([id, l]) => {
      const u = this.unsent.get(id);
      this.unsent.delete(id);
      const returned = l.held + (u?.returned ?? 0);
      const message = { want: 0, held: 0, returned, throttled: u?.throttled ?? 0 };
      l.held = 0;
      l.holders = {};
      l.waiting = [];
      l.resting = [];
      l.told = 0;
      return [id, message];
    });
  }
}

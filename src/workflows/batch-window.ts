// The batch's state and the window's rules, in a plain class (no Temporal calls): which items start next, how their
// results count, the budget, what a progress query and the summary say, what continue-as-new carries. BatchLedger
// adds the control rules on top.
import type { BatchInput, BatchProgress, BatchState, BatchSummary, ResultRecord } from '../shared/batch-types';
import { ErrorType } from '../shared/errors';
import type { ItemVariant } from '../shared/image-event';
import type { ImageItem, ImageResult } from '../shared/types';
import { providerOrder } from '../shared/providers';
import { estimate } from '../shared/batch-eta';
import { outcomeWords } from '../shared/batch-words';
import { BatchBudget } from './batch-budget';
import { ImageDeliveryLedger } from './batch-deliveries';
import { initialState } from './batch-state';

/** Results are written to disk in groups, not one activity per image. */
export const FLUSH_EVERY = 100;
const RECENT_FAILURES = 20;
const BUDGET_REACHED: string = ErrorType.BudgetReached;
const LOCAL_STORAGE: string = ErrorType.LocalStorage;

/** An item to start now: `round` > 0 for a retry; `maxSubmissions` its share of the batch's budget, if any. */
export interface NextImage {
  item: ImageItem;
  round: number;
  maxSubmissions?: number;
}

/** What the workflow loads for the ledger: items by id (retried ones) and by position (the cursor's). */
export interface ItemLoader {
  byIds(ids: string[]): Promise<ImageItem[]>;
  at(index: number): Promise<ImageItem>;
}

export class BatchWindow {
  readonly total: number;
  protected readonly s: BatchState;
  protected readonly budget: BatchBudget;
  /** Queued items cancelled before they started: the cursor passes over them. */
  protected readonly skip: Set<string>;
  /** Results not yet written to disk; what a run did not flush travels in the continue-as-new state. */
  private pending: ResultRecord[];
  private seq = 0;
  private updatedAt = new Date().toISOString();
  /** Bumped by every report and control request: the window loop wakes on it. */
  changes = 0;
  /** The batch's own files could not be written (something in the way): it waits, paused, to write them again. */
  private waitingToSave = false;
  /** Each image that ends is POSTed to the webhook (`--webhook-events image`); undefined: not asked for. */
  imageDeliveries?: ImageDeliveryLedger;
  /** Told of every item that leaves the window (its slot of a lease is free then). */
  onItemLeft?: (r: ImageResult) => void;

  constructor(protected readonly input: BatchInput) {
    this.total = input.items.kind === 'inline' ? input.items.items.length : input.items.count;
    this.s = input.state ? { ...input.state, runs: input.state.runs + 1 } : initialState(input);
    this.budget = new BatchBudget(this.s);
    this.skip = new Set(this.s.skipIds);
    this.pending = this.s.pendingResults ?? [];
  }

  get concurrency(): number {
    return this.s.concurrency;
  }
  /** When the batch's first run started (ISO time). */
  get startedAt(): string {
    return this.s.startedAt;
  }

  get cancelRequested(): boolean {
    return this.s.cancelRequested;
  }
  get inFlightCount(): number {
    return Object.keys(this.s.inFlight).length;
  }
  /** The children in flight, item id -> child workflow id. */
  inFlight(): [string, string][] {
    return Object.entries(this.s.inFlight);
  }
  isCurrentChild(itemId: string, childId: string): boolean {
    return this.s.inFlight[itemId] === childId;
  }

  protected queueEmpty(): boolean {
    return this.s.cancelRequested || (this.s.cursor >= this.total && this.s.requeued.length === 0);
  }
  done(): boolean {
    return this.queueEmpty() && this.inFlightCount === 0;
  }
  /** Whether images may still start (not paused, not cancelled, some queued). */
  mayStartMore(): boolean {
    return !this.s.paused && !this.queueEmpty();
  }
  /** Items not started yet (an upper bound: cancelled ones the cursor will pass over count too). */
  queuedCount(): number {
    return this.queueEmpty() ? 0 : this.total - this.s.cursor + this.s.requeued.length;
  }
  /** The batch's leases of its accounts' slots (kept in the state continue-as-new carries). */
  leaseState(): NonNullable<BatchState['leases']> {
    return (this.s.leases ??= {});
  }
  canStart(): boolean {
    return !this.s.paused && !this.queueEmpty() && this.inFlightCount < this.s.concurrency && this.budget.left() >= 1;
  }
  /** How many children may start now, at most `burst`. */
  room(burst: number): number {
    if (this.s.paused || this.s.cancelRequested) return 0;
    return Math.min(this.s.concurrency - this.inFlightCount, burst, this.budget.left());
  }

  protected touch(): void {
    this.changes++;
    this.updatedAt = new Date().toISOString();
  }

  protected record(r: ImageResult): void {
    this.pending.push({ ...r, at: Date.now(), seq: this.seq++ });
  }

  /** The next items to start, at most n: retried ones first, then the cursor's (passing over cancelled ones). */
  async takeNext(n: number, load: ItemLoader): Promise<NextImage[]> {
    const out: NextImage[] = [];
    if (this.s.requeued.length) {
      const ids = this.s.requeued.splice(0, n);
      for (const item of await load.byIds(ids)) out.push({ item, round: this.s.retryRounds[item.id] ?? 0 });
    }
    while (out.length < n && this.s.cursor < this.total) {
      const item = await load.at(this.s.cursor);
      this.s.cursor++;
      if (!this.skip.delete(item.id)) {
        out.push({ item, round: 0 });
        continue;
      }
      this.s.counts.cancelled++;
      this.s.cancelledIds.push(item.id);
      this.record({
        itemId: item.id,
        status: 'cancelled',
        provider: providerOrder(item.provider, this.input)[0],
        attempts: 0,
        prompts: [item.prompt],
        error: 'cancelled before it started',
      });
    }
    const policy = (item: ImageItem) => ({ ...this.input.policy, ...item.policy });
    // Each provider of a fallback list gets its own retries and simplifications: the most an item can submit.
    const most = (item: ImageItem) =>
      (1 + policy(item).retries + policy(item).simplifications) * providerOrder(item.provider, this.input).length;
    const shares = this.budget.allot(out.map(({ item }) => ({ itemId: item.id, most: most(item) })));
    out.forEach((next, i) => (next.maxSubmissions = shares[i]));
    return out;
  }

  /** Each image that ends from now on gets a webhook delivery, its id starting with the batch's own (`prefix`). */
  deliverImages(prefix: string): void {
    this.imageDeliveries = new ImageDeliveryLedger(this.s, prefix);
  }

  /** The child `childId` now runs the item (`item`: its group and variant, for its delivery). */
  started(itemId: string, childId: string, item?: ItemVariant): void {
    if (item) this.imageDeliveries?.started(itemId, item);
    this.s.inFlight[itemId] = childId;
    this.updatedAt = new Date().toISOString();
  }

  /** A child's final result; a late or repeated report (the item is no longer in flight) changes nothing. */
  settle(r: ImageResult): void {
    if (!(r.itemId in this.s.inFlight)) return;
    delete this.s.inFlight[r.itemId];
    this.onItemLeft?.(r);
    this.budget.spent(r.itemId, r.tasks ?? r.attempts);
    if (r.errorType === BUDGET_REACHED) {
      // Its share is spent, the item is not done: it waits at the head of the queue for more budget.
      this.s.retryRounds[r.itemId] = (this.s.retryRounds[r.itemId] ?? 0) + 1;
      this.s.requeued.unshift(r.itemId);
      this.touch();
      return;
    }
    this.s.counts[r.status]++;
    this.imageDeliveries?.imageEnded(r, this.s.retryRounds[r.itemId] ?? 0, Date.now());
    // The rate behind the ETA counts work done: an output found already there took no time.
    if (!r.skipped) this.s.made = (this.s.made ?? 0) + 1;
    if (r.skipped) this.s.counts.skipped++;
    if (r.errorType === LOCAL_STORAGE && !this.s.cancelRequested) {
      // Every image after it would fail the same way, each after a paid task: stop starting them.
      this.s.paused = true;
      this.s.pauseReason = `paused: ${r.error ?? 'the output folder cannot be written'}`;
    }
    if (r.status !== 'succeeded') {
      (r.status === 'failed' ? this.s.failedIds : this.s.cancelledIds).push(r.itemId);
      const note = { itemId: r.itemId, error: r.error ?? r.status };
      this.s.recentFailures = [...this.s.recentFailures, note].slice(-RECENT_FAILURES);
    }
    this.record(r);
    this.touch();
  }

  /**
   * The batch's results or manifest cannot be written until someone removes what is in the way (a link planted in
   * its folder): it pauses, saying why, as for an image that cannot be stored; resume (or a cancel) tries again.
   */
  pauseToSave(reason: string): void {
    this.s.paused = true;
    this.s.pauseReason = `paused: ${reason}`;
    this.waitingToSave = true;
    this.touch();
  }
  /** Whether the write that paused the batch may be tried again: resumed, or being cancelled. */
  get mayTrySaveAgain(): boolean {
    return !this.s.paused || this.s.cancelRequested;
  }
  /** The write is tried again now. */
  savingAgain(): void {
    this.waitingToSave = false;
  }

  /** Why nothing more starts although items wait: the output folder cannot be written, or the budget is spent. */
  stopped(): string | undefined {
    if (this.s.paused && this.s.pauseReason) return this.s.pauseReason;
    return this.budgetSpent();
  }

  /** The budget is spent while items wait (undefined otherwise). */
  budgetSpent(): string | undefined {
    const b = this.budget.describe();
    if (!b || this.queueEmpty() || this.budget.left() >= 1) return undefined;
    return `the budget of ${b.max} submissions is spent (${b.used} made${b.reserved ? `, ${b.reserved} promised to images in flight` : ''})`;
  }

  hasPending(): boolean {
    return this.pending.length > 0;
  }
  shouldFlush(): boolean {
    return this.pending.length >= FLUSH_EVERY;
  }
  /** The results to write now; they leave the ledger. */
  takePending(): ResultRecord[] {
    const results = this.pending;
    this.pending = [];
    return results;
  }

  progress(): BatchProgress {
    const running = this.inFlightCount;
    const { succeeded, failed, cancelled } = this.s.counts;
    const queued = Math.max(0, this.total - succeeded - failed - cancelled - running);
    // A paused or stopped batch starts nothing: its ETA would be a promise it does not keep.
    const rate = estimate(this.s.made ?? 0, queued + running, Date.now(), Date.parse(this.s.startedAt));
    if (this.s.paused || this.stopped() || this.s.cancelRequested) delete rate.eta;
    return {
      batchId: this.input.batchId,
      total: this.total,
      queued,
      running,
      ...this.s.counts,
      inFlight: Object.keys(this.s.inFlight),
      concurrency: this.s.concurrency,
      paused: this.s.paused,
      cancelRequested: this.s.cancelRequested,
      // Every item has ended, but its results wait to be written: not done (a follower sees it stopped, and why).
      done: this.done() && !this.waitingToSave,
      startedAt: this.s.startedAt,
      updatedAt: this.updatedAt,
      recentFailures: this.s.recentFailures,
      runs: this.s.runs,
      budget: this.budget.describe(),
      stopped: this.stopped(),
      ...rate,
    };
  }

  /** What the next run starts from. */
  carry(): BatchState {
    return { ...this.s, skipIds: [...this.skip], pendingResults: this.pending };
  }

  /** The batch's result, once it is done. Items a cancelled batch never started count as cancelled. */
  summary(manifest: string): BatchSummary {
    const { succeeded, failed, skipped } = this.s.counts;
    const neverStarted = this.s.cancelRequested ? this.total - this.s.cursor + this.s.requeued.length : 0;
    const cancelled = this.s.counts.cancelled + neverStarted;
    const status = this.s.cancelRequested ? 'cancelled' : 'completed';
    return {
      batchId: this.input.batchId,
      total: this.total,
      succeeded,
      failed,
      cancelled,
      skipped,
      manifest,
      outDir: this.input.outDir,
      status,
      failures: this.s.recentFailures,
      outcome: outcomeWords(status, { total: this.total, succeeded, failed, cancelled }),
    };
  }
}

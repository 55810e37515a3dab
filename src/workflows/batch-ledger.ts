// The batch's state and its rules, in a plain class (no Temporal calls), after the samples' ClusterManager
// (message-passing/safe-message-handlers): the workflow function wires messages to it, starts the children it
// hands out and does the I/O; every decision about items, counts and control is made here.
import type { BatchInput, BatchProgress, BatchState, BatchSummary, ResultRecord } from '../shared/batch-types';
import { MAX_CONCURRENCY } from '../shared/constants';
import type { ControlAnswer } from '../shared/messages';
import type { ImageItem, ImageResult } from '../shared/types';
import { BatchBudget } from './batch-budget';
import { initialState } from './batch-state';
import { ErrorType } from '../shared/errors';

const BUDGET_REACHED: string = ErrorType.BudgetReached;
import {
  CANCELLABLE,
  ControlRefused,
  describeItems,
  type ItemWhere,
  plural,
  refuseIfAny,
  RETRYABLE,
  sortItems,
} from './ledger-words';

export { ControlRefused };

/** Results are written to disk in groups, not one activity per image. */
export const FLUSH_EVERY = 100;
const RECENT_FAILURES = 20;

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

/** Where the named items stand in the items list; undefined where that is not known (yet). */
export type Positions = Map<string, number> | undefined;

/**
 * How a control request is taken: `check` only judges it (an Update's validator: refuses, changes nothing);
 * `strict` refuses the whole request if any part of it cannot be done, else does it (an Update's handler);
 * `lenient` does what can be done and drops the rest (a signal, which cannot answer).
 */
export type ControlMode = 'check' | 'strict' | 'lenient';

const NOTHING: ControlOutcome = { answer: { message: 'nothing done' }, cancelChildren: [] };

/** A control request's effect: the answer for the caller and the children the workflow must cancel. */
export interface ControlOutcome {
  answer: ControlAnswer;
  cancelChildren: string[];
}

export class BatchLedger {
  readonly total: number;
  private readonly s: BatchState;
  private readonly budget: BatchBudget;
  /** Queued items cancelled before they started: the cursor passes over them. */
  private readonly skip: Set<string>;
  /** Results not yet written to disk; what a run did not flush travels in the continue-as-new state. */
  private pending: ResultRecord[];
  private seq = 0;
  private updatedAt = new Date().toISOString();
  /** Bumped by every report and control request: the window loop wakes on it. */
  changes = 0;

  constructor(private readonly input: BatchInput) {
    this.total = input.items.kind === 'inline' ? input.items.items.length : input.items.count;
    this.s = input.state ? { ...input.state, runs: input.state.runs + 1 } : initialState(input);
    this.budget = new BatchBudget(this.s);
    // State carried by runs before skipIds existed kept the skipped ids among the cancelled ones.
    this.skip = new Set(this.s.skipIds ?? this.s.cancelledIds);
    this.pending = this.s.pendingResults ?? [];
  }

  get concurrency(): number {
    return this.s.concurrency;
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

  private queueEmpty(): boolean {
    return this.s.cancelRequested || (this.s.cursor >= this.total && this.s.requeued.length === 0);
  }
  done(): boolean {
    return this.queueEmpty() && this.inFlightCount === 0;
  }
  canStart(): boolean {
    return !this.s.paused && !this.queueEmpty() && this.inFlightCount < this.s.concurrency && this.budget.left() >= 1;
  }
  /** How many children may start now, at most `burst`. */
  room(burst: number): number {
    if (this.s.paused || this.s.cancelRequested) return 0;
    return Math.min(this.s.concurrency - this.inFlightCount, burst, this.budget.left());
  }

  private touch(): void {
    this.changes++;
    this.updatedAt = new Date().toISOString();
  }

  private record(r: ImageResult): void {
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
        provider: item.provider ?? this.input.provider,
        attempts: 0,
        prompts: [item.prompt],
        error: 'cancelled before it started',
      });
    }
    const policy = (item: ImageItem) => ({ ...this.input.policy, ...item.policy });
    const shares = this.budget.allot(
      out.map(({ item }) => ({ itemId: item.id, most: 1 + policy(item).retries + policy(item).simplifications })),
    );
    out.forEach((next, i) => (next.maxSubmissions = shares[i]));
    return out;
  }

  /** The child `childId` now runs the item. */
  started(itemId: string, childId: string): void {
    this.s.inFlight[itemId] = childId;
    this.updatedAt = new Date().toISOString();
  }

  /** A child's final result; a late or repeated report (the item is no longer in flight) changes nothing. */
  settle(r: ImageResult): void {
    if (!(r.itemId in this.s.inFlight)) return;
    delete this.s.inFlight[r.itemId];
    this.budget.spent(r.itemId, r.tasks ?? r.attempts);
    if (r.errorType === BUDGET_REACHED) {
      // Its share is spent, the item is not done: it waits at the head of the queue for more budget.
      this.s.retryRounds[r.itemId] = (this.s.retryRounds[r.itemId] ?? 0) + 1;
      this.s.requeued.unshift(r.itemId);
      this.touch();
      return;
    }
    this.s.counts[r.status]++;
    if (r.skipped) this.s.counts.skipped++;
    if (r.status !== 'succeeded') {
      (r.status === 'failed' ? this.s.failedIds : this.s.cancelledIds).push(r.itemId);
      const note = { itemId: r.itemId, error: r.error ?? r.status };
      this.s.recentFailures = [...this.s.recentFailures, note].slice(-RECENT_FAILURES);
    }
    this.record(r);
    this.touch();
  }

  /** Where an item stands, given its position in the items list (undefined: not in it, or not looked up). */
  where(id: string, positions: Positions): ItemWhere | undefined {
    if (id in this.s.inFlight) return 'running';
    if (this.s.failedIds.includes(id)) return 'failed';
    if (this.s.cancelledIds.includes(id) || this.skip.has(id)) return 'cancelled';
    if (this.s.requeued.includes(id)) return 'retrying';
    if (!positions) return undefined;
    const index = positions.get(id);
    if (index === undefined) return 'unknown';
    return index >= this.s.cursor ? 'queued' : 'succeeded';
  }

  /** Cancel the batch (no ids) or items. */
  cancel(ids: string[] | undefined, positions: Positions, mode: ControlMode): ControlOutcome {
    if (!ids?.length) {
      if (mode !== 'lenient' && this.s.cancelRequested)
        throw new ControlRefused('the batch is already being cancelled');
      const running = Object.values(this.s.inFlight);
      const queued = this.total - this.s.cursor + this.s.requeued.length;
      if (mode === 'check') return NOTHING;
      this.s.cancelRequested = true;
      this.touch();
      const message = `cancelling the batch: ${plural(running.length, 'running item')} cancelled, ${plural(queued, 'queued item')} will not start`;
      return { answer: { message }, cancelChildren: running };
    }
    const { accepted, refused } = sortItems(ids, (id) => this.where(id, positions), CANCELLABLE);
    if (mode !== 'lenient') refuseIfAny(refused);
    if (mode === 'check') return NOTHING;
    const cancelChildren: string[] = [];
    for (const id of accepted) {
      const where = this.where(id, positions);
      if (where === 'running') cancelChildren.push(this.s.inFlight[id]);
      else if (where === 'retrying') this.cancelRequeued(id);
      else this.skip.add(id); // queued, or (a signal to a batch whose items are paged) not looked up
    }
    this.touch();
    return { answer: { message: `cancelling ${describeItems(accepted)}`, itemIds: accepted }, cancelChildren };
  }

  private cancelRequeued(id: string): void {
    this.s.requeued = this.s.requeued.filter((x) => x !== id);
    this.s.counts.cancelled++;
    this.s.cancelledIds.push(id);
    this.record({
      itemId: id,
      status: 'cancelled',
      provider: this.input.provider,
      attempts: 0,
      prompts: [],
      error: 'cancelled before its retry started',
    });
  }

  /** Queue failed or cancelled items again (no ids: all of them). */
  retry(ids: string[] | undefined, positions: Positions, mode: ControlMode): ControlOutcome {
    if (this.s.cancelRequested) {
      if (mode !== 'lenient') throw new ControlRefused('the batch is being cancelled');
      return NOTHING;
    }
    let chosen = [...this.s.failedIds, ...this.s.cancelledIds, ...this.skip];
    if (ids?.length) {
      const { accepted, refused } = sortItems(ids, (id) => this.where(id, positions), RETRYABLE);
      if (mode !== 'lenient') refuseIfAny(refused);
      // Accepted without a place (not looked up yet) is not retryable: only failed and cancelled items are.
      chosen = accepted.filter((id) => RETRYABLE.has(this.where(id, positions) ?? 'unknown'));
    } else if (mode !== 'lenient' && !chosen.length) throw new ControlRefused('no failed or cancelled items to retry');
    if (mode === 'check') return NOTHING;
    for (const id of chosen) {
      // Cancelled while queued (and not passed yet): it simply stays queued.
      if (this.skip.delete(id) && !this.s.cancelledIds.includes(id)) continue;
      if (this.s.failedIds.includes(id)) {
        this.s.failedIds = this.s.failedIds.filter((x) => x !== id);
        this.s.counts.failed--;
      } else {
        this.s.cancelledIds = this.s.cancelledIds.filter((x) => x !== id);
        this.s.counts.cancelled--;
      }
      this.s.retryRounds[id] = (this.s.retryRounds[id] ?? 0) + 1;
      this.s.requeued.push(id);
    }
    this.touch();
    return { answer: { message: `retrying ${describeItems(chosen)}`, itemIds: chosen }, cancelChildren: [] };
  }

  pause(mode: ControlMode): ControlAnswer {
    if (mode !== 'lenient' && this.s.cancelRequested) throw new ControlRefused('the batch is being cancelled');
    if (mode !== 'lenient' && this.s.paused) throw new ControlRefused('the batch is already paused');
    if (mode === 'check') return NOTHING.answer;
    this.s.paused = true;
    this.touch();
    return { message: 'paused: running images finish, no new ones start' };
  }

  /** Resume a paused batch, and (with a larger budget) one whose budget is spent. */
  resume(mode: ControlMode, maxSubmissions?: number): ControlAnswer {
    const before = this.budget.describe();
    if (maxSubmissions === undefined) {
      if (mode !== 'lenient' && !this.s.paused) throw new ControlRefused('the batch is not paused');
    } else {
      const probe = new BatchBudget({ ...this.s });
      const wrong = probe.raise(maxSubmissions);
      if (wrong && mode !== 'lenient') throw new ControlRefused(wrong);
      if (wrong) return NOTHING.answer;
    }
    if (mode === 'check') return NOTHING.answer;
    if (maxSubmissions !== undefined) this.budget.raise(maxSubmissions);
    this.s.paused = false;
    this.touch();
    const budget = before ? `; budget ${before.max} -> ${maxSubmissions ?? before.max} submissions` : '';
    return { message: `resumed${budget}` };
  }

  setConcurrency(n: number, mode: ControlMode): ControlAnswer {
    const valid = Number.isInteger(n) && n >= 1;
    if (mode !== 'lenient' && !(valid && n <= MAX_CONCURRENCY))
      throw new ControlRefused(`concurrency must be a whole number from 1 to ${MAX_CONCURRENCY}, not ${n}`);
    if (mode === 'check') return NOTHING.answer;
    const from = this.s.concurrency;
    if (valid) this.s.concurrency = Math.min(n, MAX_CONCURRENCY);
    this.touch();
    return { message: `concurrency ${from} -> ${this.s.concurrency}` };
  }

  /** Why nothing more starts although items wait: the budget is spent (undefined otherwise). */
  stopped(): string | undefined {
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
    return {
      batchId: this.input.batchId,
      total: this.total,
      queued: Math.max(0, this.total - succeeded - failed - cancelled - running),
      running,
      ...this.s.counts,
      inFlight: Object.keys(this.s.inFlight),
      concurrency: this.s.concurrency,
      paused: this.s.paused,
      cancelRequested: this.s.cancelRequested,
      done: this.done(),
      startedAt: this.s.startedAt,
      updatedAt: this.updatedAt,
      recentFailures: this.s.recentFailures,
      runs: this.s.runs,
      budget: this.budget.describe(),
      stopped: this.stopped(),
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
    return {
      batchId: this.input.batchId,
      total: this.total,
      succeeded,
      failed,
      cancelled: this.s.counts.cancelled + neverStarted,
      skipped,
      manifest,
      outDir: this.input.outDir,
      status: this.s.cancelRequested ? 'cancelled' : 'completed',
      failures: this.s.recentFailures,
    };
  }
}

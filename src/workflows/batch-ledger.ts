// The batch's state and its rules, in a plain class (no Temporal calls), after the samples' ClusterManager
// (message-passing/safe-message-handlers): the workflow function wires messages to it, starts the children it
// hands out and does the I/O; every decision about items, counts and control is made here (the window's rules in
// BatchWindow, the control rules below).
import { MAX_CONCURRENCY } from '../shared/constants';
import type { ControlAnswer } from '../shared/messages';
import { BatchBudget } from './batch-budget';
import { BatchWindow } from './batch-window';
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
export { type ItemLoader, type NextImage } from './batch-window';

/** Where the named items stand in the items list; undefined where that is not known (yet). */
export type Positions = Map<string, number> | undefined;

/**
 * How a control request is taken: `check` only judges it (an Update's validator: refuses, changes nothing);
 * `strict` refuses the whole request if any part of it cannot be done, else does it (an Update's handler);
 * `lenient` does what can be done and drops the rest (a signal, which cannot answer).
 */
export type ControlMode = 'check' | 'strict' | 'lenient';

/** A control request's effect: the answer for the caller and the children the workflow must cancel. */
export interface ControlOutcome {
  answer: ControlAnswer;
  cancelChildren: string[];
}

const NOTHING: ControlOutcome = { answer: { message: 'nothing done' }, cancelChildren: [] };

export class BatchLedger extends BatchWindow {
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
    this.s.pauseReason = undefined;
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
}

// Fallback between providers for one image: which provider serves it now, when it may move to the next, and the
// record of every provider tried and why it moved on. Plain rules, no Temporal calls.
import { failureMeaning } from '../shared/errors';
import type { ProviderKind, ProviderTry } from '../shared/types';

export class ProviderFallback {
  private index = 0;
  private readonly moves: ProviderTry[] = [];

  constructor(
    private readonly order: ProviderKind[],
    private readonly onModeration = false,
  ) {}

  get current(): ProviderKind {
    return this.order[this.index];
  }

  get hasNext(): boolean {
    return this.index + 1 < this.order.length;
  }

  /**
   * Whether a failure of this kind moves the item to the next provider. `exhausted`: the item has used up what
   * the current provider gets (its retries, or its simplifications for a moderation refusal).
   */
  movesOn(errorType: string, exhausted: boolean): boolean {
    const { moveOn, resubmit } = failureMeaning(errorType);
    if (!this.hasNext || moveOn === 'never') return false;
    // Moderation: only when the batch asks for it (another provider may well refuse the same prompt).
    if (resubmit === 'simpler-prompt') return this.onModeration && exhausted;
    return moveOn === 'at-once' || exhausted;
  }

  /** Moves to the next provider, recording why the current one was left; returns the new one. */
  next(errorType: string, reason: string): ProviderKind {
    this.moves.push({ provider: this.current, errorType, reason });
    this.index++;
    return this.current;
  }

  /** Every provider tried, the last (the one that made the image, or failed last) included; empty if only one. */
  tried(last?: { errorType?: string; reason?: string }): ProviderTry[] | undefined {
    if (!this.moves.length) return undefined;
    const end: ProviderTry = { provider: this.current };
    if (last?.errorType) Object.assign(end, { errorType: last.errorType, reason: last.reason });
    return [...this.moves, end];
  }
}

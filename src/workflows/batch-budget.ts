// The batch's submission budget (`--max-submissions`): money, so strict. Each image in flight is promised a share
// (at least one submission, at most what its policy could spend) and stops before it spends more; what it did not
// spend comes back when it reports.
import type { BatchState, SubmissionBudget } from '../shared/batch-types';

export class BatchBudget {
  constructor(private readonly s: BatchState) {}

  /** What may still be promised; Infinity without a budget. */
  left(): number {
    if (this.s.maxSubmissions === undefined) return Infinity;
    const reserved = Object.values(this.s.reserved ?? {}).reduce((a, b) => a + b, 0);
    return this.s.maxSubmissions - (this.s.submissions ?? 0) - reserved;
  }

  /** Promises shares to images about to start, in order: one each first, then up to each one's most. */
  allot(images: { itemId: string; most: number }[]): (number | undefined)[] {
    if (this.s.maxSubmissions === undefined) return images.map(() => undefined);
    let left = this.left();
    const shares = images.map(() => (left-- > 0 ? 1 : 0));
    images.forEach((img, i) => {
      const more = Math.max(0, Math.min(img.most - shares[i], left));
      shares[i] += more;
      left -= more;
    });
    const reserved = (this.s.reserved ??= {});
    images.forEach((img, i) => (reserved[img.itemId] = shares[i]));
    return shares;
  }

  /** An image reported: what it spent counts, the rest of its share comes back. */
  spent(itemId: string, submissions: number): void {
    if (this.s.reserved) delete this.s.reserved[itemId];
    this.s.submissions = (this.s.submissions ?? 0) + submissions;
  }

  /** A larger budget; it must leave room for at least one more submission. */
  raise(max: number): string | undefined {
    const used = this.s.submissions ?? 0;
    const promised = used + (this.s.maxSubmissions === undefined ? 0 : this.s.maxSubmissions - used - this.left());
    if (!Number.isInteger(max) || max <= promised)
      return `the budget must be a whole number above the ${promised} submissions made or promised, not ${max}`;
    this.s.maxSubmissions = max;
    return undefined;
  }

  describe(): SubmissionBudget | undefined {
    const max = this.s.maxSubmissions;
    if (max === undefined) return undefined;
    const used = this.s.submissions ?? 0;
    return { max, used, reserved: max - used - this.left() };
  }
}

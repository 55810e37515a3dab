// What a batch writes to its folder: item results in groups (the results log), and the manifest when it ends or
// stops at its budget. The activities do the writing; this decides when.
import type { BatchInput } from '../shared/batch-types';
import { batchActivities } from './batch-activities';
import type { BatchLedger } from './batch-ledger';

export class BatchResults {
  /** The manifest already says why the batch stopped (so it is not written again for the same stop). */
  private stopNoted = false;

  constructor(
    private readonly input: BatchInput,
    private readonly ledger: BatchLedger,
  ) {}

  /** Writes the results reported so far. */
  async flush(): Promise<void> {
    if (this.ledger.hasPending())
      await batchActivities.recordResults({ outDir: this.input.outDir, results: this.ledger.takePending() });
  }

  /** Writes them once enough have gathered, and the manifest once the budget is spent and nothing runs. */
  async keepUp(): Promise<void> {
    if (this.ledger.shouldFlush()) await this.flush();
    const stopped = this.ledger.budgetSpent();
    if (stopped && !this.stopNoted && this.ledger.inFlightCount === 0) {
      // The batch stays open (`imagebatch resume --max-submissions` continues it); the manifest says why.
      this.stopNoted = true;
      await this.flush();
      await batchActivities.writeManifest({ ...this.manifestInput(false), stopped });
    }
    if (!stopped) this.stopNoted = false;
  }

  /** The last results and the manifest; returns the manifest's path. */
  async finish(): Promise<string> {
    await this.flush();
    return batchActivities.writeManifest(this.manifestInput(this.ledger.cancelRequested));
  }

  private manifestInput(cancelled: boolean) {
    const { outDir, batchId, items, retryOf, provider, simulated } = this.input;
    return { outDir, batchId, items, retryOf, cancelled, provider, simulated };
  }
}

// What a batch writes to its folder: item results in groups (the results log), and the manifest when it ends or
// stops at its budget, then the completion hooks. The activities do the writing; this decides when.
import type { BatchInput, BatchSummary } from '../shared/batch-types';
import { batchActivities } from './batch-activities';
import { runCompletionHooks } from './batch-hooks';
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

  /** The last results, the manifest, then the completion hooks (they are told where the manifest is); the summary. */
  async finish(): Promise<BatchSummary> {
    await this.flush();
    const manifest = await batchActivities.writeManifest(this.manifestInput(this.ledger.cancelRequested));
    const summary = this.ledger.summary(manifest);
    const hooks = await runCompletionHooks(this.input, summary);
    return hooks ? { ...summary, hooks } : summary;
  }

  private manifestInput(cancelled: boolean) {
    const { outDir, batchId, items, retryOf, provider, simulated } = this.input;
    // The gallery shows when the batch started and how long it took.
    return { outDir, batchId, items, retryOf, cancelled, provider, simulated, startedAt: this.ledger.startedAt };
  }
}

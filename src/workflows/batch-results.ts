// What a batch writes to its folder: item results in groups (the results log), and the manifest when it ends or
// stops at its budget, then the completion hooks. The activities do the writing; this decides when, and pauses the
// batch when something is in the way of a write (a full disk is waited for by the activity's retries).
import { ActivityFailure, ApplicationFailure, condition } from '@temporalio/workflow';
import type { BatchInput, BatchSummary } from '../shared/batch-types';
import { ErrorType } from '../shared/errors';
import { batchActivities } from './batch-activities';
import { type ImageWebhooks, runCompletionHooks } from './batch-hooks';
import type { BatchLedger } from './batch-ledger';

export class BatchResults {
  /** The manifest already says why the batch stopped (so it is not written again for the same stop). */
  private stopNoted = false;

  constructor(
    private readonly input: BatchInput,
    private readonly ledger: BatchLedger,
    private readonly imageWebhooks: ImageWebhooks,
  ) {}

  /** Writes the results reported so far. */
  async flush(): Promise<void> {
    if (!this.ledger.hasPending()) return;
    const results = this.ledger.takePending();
    await this.saving(() => batchActivities.recordResults({ outDir: this.input.outDir, results }));
  }

  /** Writes them once enough have gathered, and the manifest once the budget is spent and nothing runs. */
  async keepUp(): Promise<void> {
    if (this.ledger.shouldFlush()) await this.flush();
    const stopped = this.ledger.budgetSpent();
    if (stopped && !this.stopNoted && this.ledger.inFlightCount === 0) {
      // The batch stays open (`imagebatch resume --max-submissions` continues it); the manifest says why.
      this.stopNoted = true;
      await this.flush();
      await this.saving(() => batchActivities.writeManifest({ ...this.manifestInput(false), stopped }));
    }
    if (!stopped) this.stopNoted = false;
  }

  /**
   * The last results, the manifest, then the completion hooks (they are told where the manifest is), once every
   * image's delivery has ended; the summary.
   */
  async finish(): Promise<BatchSummary> {
    await this.flush();
    const manifest = await this.saving(() =>
      batchActivities.writeManifest(this.manifestInput(this.ledger.cancelRequested)),
    );
    const summary = this.ledger.summary(manifest);
    await this.imageWebhooks.drained();
    const hooks = await runCompletionHooks(this.input, summary);
    return hooks ? { ...summary, hooks } : summary;
  }

  /**
   * A write of the batch's files; one that failed for something in the way (it will not heal by itself) pauses the
   * batch with the reason and is tried again on resume. A batch being cancelled has nobody to resume it: it fails
   * with the reason.
   */
  private async saving<T>(write: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await write();
      } catch (err) {
        const reason = inTheWay(err);
        if (reason === undefined || this.ledger.cancelRequested) throw err;
        this.ledger.pauseToSave(reason);
        await condition(() => this.ledger.mayTrySaveAgain);
        this.ledger.savingAgain();
      }
    }
  }

  private manifestInput(cancelled: boolean) {
    const { outDir, batchId, items, retryOf, provider, simulated } = this.input;
    // The gallery shows when the batch started and how long it took.
    return { outDir, batchId, items, retryOf, cancelled, provider, simulated, startedAt: this.ledger.startedAt };
  }
}

/** Why a batch file's write failed at once, when its folder is in the way (a LocalStorage failure, not retried). */
function inTheWay(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  return cause instanceof ApplicationFailure && cause.type === ErrorType.LocalStorage ? cause.message : undefined;
}

// The completion hooks: at the batch's end, after its manifest, a command on a worker and a webhook, as activities,
// so a worker killed at the end does not lose them (another worker retries). Only scheduled when the batch's input
// names one: histories of batches without hooks replay unchanged. With `--webhook-events image`, each image's
// delivery too, as it ends.
import {
  ActivityFailure,
  CancellationScope,
  condition,
  log,
  patched,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { BatchInput, BatchSummary, HookOutcome } from '../shared/batch-types';
import type { ImageDelivery } from '../shared/image-event';
import type { BatchLedger } from './batch-ledger';

/** The patch of the image deliveries (docs/upgrading.md); asked only by batches that want them. */
const IMAGE_WEBHOOKS = 'image-webhooks';

/** A dead worker is noticed by its missing heartbeat, not after a whole attempt's timeout. */
const HEARTBEAT = '5 seconds';

const { runCompletionCommand } = proxyActivities<Activities>({
  // The activity stops the command at 10 minutes itself; this only bounds a worker that does not come back.
  startToCloseTimeout: '11 minutes',
  heartbeatTimeout: HEARTBEAT,
  // A command that fails the same way each time should not run for a day: a few tries, then it is recorded.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});

const { postWebhook, postImageWebhook } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: HEARTBEAT,
  // A receiver that is down for a while still gets it: backoff from 1 s doubling to 5 min, for up to an hour. Not
  // longer: the batch (and a `run` following it) stays open until its hooks are done. An image's delivery the same.
  scheduleToCloseTimeout: '1 hour',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/** Why an activity finally failed: its last failure's message. */
function reason(err: unknown): string {
  if (err instanceof ActivityFailure) return err.cause?.message ?? err.message;
  return err instanceof Error ? err.message : String(err);
}

async function attempt(kind: HookOutcome['kind'], run: () => Promise<void>): Promise<HookOutcome> {
  try {
    await run();
    return { kind, ok: true };
  } catch (err) {
    // A hook that fails does not fail the batch: its images are made either way.
    return { kind, ok: false, error: reason(err) };
  }
}

/** The batch's delivery id: stable across retries and continue-as-new (the first run's id names the chain). */
function batchDeliveryId(): string {
  const info = workflowInfo();
  return `${info.workflowId}/${info.firstExecutionRunId}`;
}

/** Runs the batch's hooks (both at once: a webhook retrying for hours does not hold the command); none: undefined. */
export async function runCompletionHooks(input: BatchInput, summary: BatchSummary): Promise<HookOutcome[] | undefined> {
  const { onComplete } = input;
  // `--webhook-events image` alone: the batch's end is not POSTed.
  const webhook = input.webhookEvents && !input.webhookEvents.includes('batch') ? undefined : input.webhook;
  if (!onComplete && !webhook) return undefined;
  // The receiver dedupes on it.
  const deliveryId = batchDeliveryId();
  return Promise.all([
    ...(onComplete ? [attempt('command', () => runCompletionCommand({ command: onComplete, summary }))] : []),
    ...(webhook ? [attempt('webhook', () => postWebhook({ url: webhook, summary, deliveryId }))] : []),
  ]);
}

/**
 * Each image's delivery, started as soon as the batch records the image's result and not awaited: a slow receiver
 * never holds the window, and a window loop that waits (on a paused write, say) never holds the deliveries. Started
 * outside the batch's cancellation (a cancelled batch still tells of the images that ended). What is still running at
 * continue-as-new is carried in the ledger's state and started again by the next run; the batch's end waits for all.
 */
export class ImageWebhooks {
  private readonly url?: string;

  constructor(
    input: BatchInput,
    private readonly ledger: BatchLedger,
  ) {
    // Only a batch that asks for them calls patched(): histories of every other batch replay unchanged.
    if (!input.webhook || !input.webhookEvents?.includes('image') || !patched(IMAGE_WEBHOOKS)) return;
    this.url = input.webhook;
    ledger.deliverImages(batchDeliveryId());
  }

  /** Starts each delivery as its image ends, for the rest of the run (nothing when the batch did not ask). */
  deliverInBackground(): void {
    const deliveries = this.ledger.imageDeliveries;
    if (!this.url || !deliveries) return;
    const url = this.url;
    const post = ({ id, event }: ImageDelivery) =>
      CancellationScope.nonCancellable(() => postImageWebhook({ url, event, deliveryId: id })).then(
        () => deliveries.delivered(id),
        (err) => {
          // Given up after its retries (an hour), or refused: the batch goes on; the worker's log says which.
          log.warn('image webhook not delivered', { deliveryId: id, error: reason(err) });
          deliveries.delivered(id);
        },
      );
    // Not cancellable: a cancelled batch goes on telling of the images that end while its children stop.
    void CancellationScope.nonCancellable(async () => {
      for (;;) {
        await condition(() => deliveries.hasNew());
        for (const d of deliveries.takeNew()) void post(d);
      }
    });
  }

  /** Waits until every image's delivery has ended: the batch's own comes after them. */
  async drained(): Promise<void> {
    const deliveries = this.ledger.imageDeliveries;
    if (deliveries) await condition(() => deliveries.left === 0);
  }
}

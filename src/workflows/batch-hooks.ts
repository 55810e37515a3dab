// The completion hooks: at the batch's end, after its manifest, a command on a worker and a webhook, as activities,
// so a worker killed at the end does not lose them (another worker retries). Only scheduled when the batch's input
// names one: histories of batches without hooks replay unchanged.
import { ActivityFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { BatchInput, BatchSummary, HookOutcome } from '../shared/batch-types';

/** A dead worker is noticed by its missing heartbeat, not after a whole attempt's timeout. */
const HEARTBEAT = '5 seconds';

const { runCompletionCommand } = proxyActivities<Activities>({
  // The activity stops the command at 10 minutes itself; this only bounds a worker that does not come back.
  startToCloseTimeout: '11 minutes',
  heartbeatTimeout: HEARTBEAT,
  // A command that fails the same way each time should not run for a day: a few tries, then it is recorded.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});

const { postWebhook } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: HEARTBEAT,
  // A receiver that is down for a while still gets it: backoff from 1 s doubling to 5 min, for up to an hour. Not
  // longer: the batch (and a `run` following it) stays open until its hooks are done.
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

/** Runs the batch's hooks (both at once: a webhook retrying for hours does not hold the command); none: undefined. */
export async function runCompletionHooks(input: BatchInput, summary: BatchSummary): Promise<HookOutcome[] | undefined> {
  const { onComplete, webhook } = input;
  if (!onComplete && !webhook) return undefined;
  const info = workflowInfo();
  // Stable across retries and continue-as-new (the first run's id names the chain): the receiver dedupes on it.
  const deliveryId = `${info.workflowId}/${info.firstExecutionRunId}`;
  return Promise.all([
    ...(onComplete ? [attempt('command', () => runCompletionCommand({ command: onComplete, summary }))] : []),
    ...(webhook ? [attempt('webhook', () => postWebhook({ url: webhook, summary, deliveryId }))] : []),
  ]);
}

// What a batch whose items have all ended still waits for: its completion hooks, as the server's pending activities
// show them. A webhook to a receiver that is down is retried for up to an hour: `run` says so, and for how long.
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { etaWords } from '../shared/batch-eta';
import type { BatchHandle } from './batch-lookup';
import { workerCommandFor } from './provider-queues';

const HOOKS: Record<string, string> = {
  postWebhook: 'the webhook',
  postImageWebhook: "an image's webhook",
  runCompletionCommand: 'the --on-complete command',
};

export interface HookWait {
  /** "the webhook" */
  what: string;
  attempt: number;
  /** Attempts allowed in all, when the retry policy bounds them. */
  maxAttempts?: number;
  /** Why the last attempt failed. */
  lastFailure?: string;
  /** When the next attempt starts, while it waits for its backoff (ms since the epoch). */
  nextTryAt?: number;
  /** When the server gives the hook up (its schedule-to-close deadline). */
  deadline?: number;
  /** The task queue whose workers run it. */
  taskQueue: string;
}

/** The batch's hooks still pending on the server, from its description. */
export async function hookWaits(handle: BatchHandle): Promise<HookWait[]> {
  const d = await handle.describe();
  return (d.raw.pendingActivities ?? []).flatMap((a) => {
    const what = HOOKS[a.activityType?.name ?? ''];
    if (!what) return [];
    const max = a.maximumAttempts ?? 0;
    return [
      {
        what,
        attempt: a.attempt ?? 1,
        ...(max > 0 ? { maxAttempts: max } : {}),
        ...(a.lastFailure?.message ? { lastFailure: a.lastFailure.message } : {}),
        ...(optionalTsToMs(a.nextAttemptScheduleTime) ? { nextTryAt: optionalTsToMs(a.nextAttemptScheduleTime) } : {}),
        ...(optionalTsToMs(a.expirationTime) ? { deadline: optionalTsToMs(a.expirationTime) } : {}),
        taskQueue: d.taskQueue,
      },
    ];
  });
}

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 16);

/** "in 8 s", "in 58 min" */
const fromNow = (ms: number, now: number) => etaWords(new Date(ms).toISOString(), now).replace('ETA', 'in');

/**
 * "waiting for the webhook: 3 attempts failed, the last with: fetch failed: …; next try in 8 s; given up at 23:41 UTC
 * (in 58 min). Ctrl-C twice detaches: the batch stays open on the server, and `imagebatch worker` keeps trying it
 * until then." Undefined while nothing has failed yet.
 */
export function hookWaitWords(w: HookWait, now: number): string | undefined {
  // The server counts the attempt under way (or the next one, while it backs off): the ones before it failed.
  const failed = Math.max(w.attempt - 1, w.lastFailure ? 1 : 0);
  if (!failed) return undefined;
  const last = w.lastFailure ? `, the last with: ${w.lastFailure}` : '';
  const of = w.maxAttempts ? ` (of ${w.maxAttempts} allowed)` : '';
  const next = w.nextTryAt && w.nextTryAt - now >= 1000 ? `; next try ${fromNow(w.nextTryAt, now)}` : '';
  const until = w.deadline ? `; given up at ${clock(w.deadline)} UTC (${fromNow(w.deadline, now)})` : '';
  return (
    `waiting for ${w.what}: ${failed} attempt${failed > 1 ? 's' : ''}${of} failed${last}${next}${until}. ` +
    `Ctrl-C twice detaches: the batch stays open on the server, and \`${workerCommandFor(w.taskQueue)}\` keeps ` +
    `trying it${w.deadline ? ' until then' : ''}.`
  );
}

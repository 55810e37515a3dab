// The completion hooks' activities: the `--on-complete` command and the `--webhook` POST, run by a worker once the
// batch has written its manifest (and with `--webhook-events image`, a POST of each image's event as it ends). Each
// heartbeats, so a worker killed mid-hook is noticed within the heartbeat timeout and another worker runs it again: a
// hook runs at least once, never for certain exactly once.
import { ApplicationFailure, cancellationSignal, heartbeat, log } from '@temporalio/activity';
import type { BatchSummary, WebhookEvent } from '../shared/batch-types';
import type { ImageEvent } from '../shared/image-event';
import { outgoing } from './failures';
import { redactSecrets } from '../providers/redact';
import { runHookCommand } from './hook-command';
import { judgeAnswer, SECRET_VAR, webhookHeaders } from './webhook';

export interface CompletionDeps {
  /** The worker's environment (the command's, and where the webhook secret is read): default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** One attempt's time for the receiver to answer. */
const WEBHOOK_TIMEOUT_MS = 30_000;
const BEAT_MS = 1000;

async function heartbeating<T>(fn: () => Promise<T>): Promise<T> {
  heartbeat();
  const timer = setInterval(() => heartbeat(), BEAT_MS);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

/** The worker's variables every command sees: enough to find programs, a home and the locale, nothing secret. */
export const COMMAND_ENV = ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR'] as const;
/** More of them, named by the worker's owner (`--on-complete-env NAME`, a comma list here): never the batch's input. */
export const COMMAND_ENV_VAR = 'IMAGEBATCH_ON_COMPLETE_ENV';

/**
 * The command comes from the batch's input, not from the worker's owner: it sees an allow-list of the worker's
 * environment (COMMAND_ENV, LC_*, and the names in COMMAND_ENV_VAR), never everything but a list of known secrets.
 */
export function commandEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const named = (env[COMMAND_ENV_VAR] ?? '').split(',').map((n) => n.trim());
  const allowed = new Set<string>([...COMMAND_ENV, ...named.filter(Boolean)]);
  return Object.fromEntries(Object.entries(env).filter(([name]) => allowed.has(name) || /^LC_[A-Z_]+$/.test(name)));
}

export function createCompletionActivities(deps: CompletionDeps = {}) {
  const env = () => deps.env ?? process.env;

  /** `sh -c COMMAND` with the summary JSON on stdin; a non-zero exit is a retryable failure with its stderr's tail. */
  async function runCompletionCommand(input: { command: string; summary: BatchSummary }): Promise<void> {
    const { summary } = input;
    try {
      const out = await heartbeating(() =>
        runHookCommand(input.command, {
          stdin: JSON.stringify(summary) + '\n',
          env: {
            ...commandEnv(env()),
            IMAGEBATCH_BATCH_ID: summary.batchId,
            IMAGEBATCH_MANIFEST: summary.manifest,
          },
          signal: cancellationSignal(),
        }),
      );
      if (out) log.info('completion command output', { batchId: summary.batchId, output: redactSecrets(out, env()) });
    } catch (err) {
      // Its stderr's tail is bounded already (the end, where the reason is): redacted, not cut again from the start.
      throw ApplicationFailure.retryable(redactSecrets((err as Error).message, env()), 'CompletionCommandFailed');
    }
  }

  /**
   * POSTs the JSON with the delivery id (and the signature when the worker has IMAGEBATCH_WEBHOOK_SECRET: read here,
   * never from the workflow's input or history). 2xx: done (never retried, whatever its body); 4xx but 408/429: not
   * retried; else retried.
   */
  async function post(url: string, payload: object, deliveryId: string, event: WebhookEvent): Promise<void> {
    const body = JSON.stringify(payload);
    const headers = webhookHeaders(body, deliveryId, env()[SECRET_VAR] || undefined, event);
    // The status is the whole answer: the body is never read (a receiver answering 200 with gigabytes must not hold
    // the activity past its heartbeat, which would POST the same delivery again).
    const status = await heartbeating(async () => {
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers,
          body,
          redirect: 'manual',
          signal: AbortSignal.any([cancellationSignal(), AbortSignal.timeout(WEBHOOK_TIMEOUT_MS)]),
        });
        // Dropping the body closes the connection; what the receiver still sends is not read.
        await res.body?.cancel().catch(() => undefined);
        return { code: res.status, retryAfter: res.headers.get('retry-after') };
      } catch (err) {
        const cause = (err as { cause?: Error }).cause;
        throw ApplicationFailure.retryable(
          outgoing(`${(err as Error).message}${cause ? `: ${cause.message}` : ''}`, env()),
          'WebhookFailed',
        );
      }
    });
    const answer = judgeAnswer(status.code, status.retryAfter);
    if (answer.kind === 'done') return;
    if (answer.kind === 'give up') throw ApplicationFailure.nonRetryable(answer.why, 'WebhookRefused');
    throw ApplicationFailure.create({ message: answer.why, type: 'WebhookFailed', nextRetryDelay: answer.afterMs });
  }

  /** The batch's end: its summary. */
  async function postWebhook(input: { url: string; summary: BatchSummary; deliveryId: string }): Promise<void> {
    await post(input.url, input.summary, input.deliveryId, 'batch');
  }

  /** An image that ended (`--webhook-events image`): its event, as `imagebatch events` prints it. */
  async function postImageWebhook(input: { url: string; event: ImageEvent; deliveryId: string }): Promise<void> {
    await post(input.url, input.event, input.deliveryId, 'image');
  }

  return { runCompletionCommand, postWebhook, postImageWebhook };
}

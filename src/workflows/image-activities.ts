// The activities of one image on one provider, with the timeouts and retry policies of its item.
import { ActivityCancellationType, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { accountTaskQueue } from '../shared/account-queues';
import type { AccountRef } from '../shared/accounts';
import { BACKOFF_RETRY } from '../shared/backoff';
import { NON_RETRYABLE_ERRORS } from '../shared/errors';
import { providerTaskQueue } from '../shared/providers';
import type { ImagePolicy, ProviderKind } from '../shared/types';

/**
 * The patch of 0.2.1: an image whose account is known runs its provider's activities on that account's own queue
 * (and opens it again there), and a batch whose client named an account opens it there: a task submitted with one
 * account is polled, cancelled and downloaded with it. Workflows that started before keep the provider's queue.
 */
export const ACCOUNT_QUEUES = 'account-queues';

/**
 * Where a provider's activities run: on the account's own queue when the image knows its account (only workers of
 * that account poll it: a task is submitted, polled, cancelled and downloaded with one account), else on the
 * provider's queue, polled by every worker with its credentials.
 */
function activityQueue(provider: ProviderKind, account: AccountRef | undefined): string {
  const workflowQueue = workflowInfo().taskQueue;
  return account ? accountTaskQueue(workflowQueue, account) : providerTaskQueue(workflowQueue, provider);
}

/** The activities of one image on one provider, on its account's queue when `account` is given (activityQueue). */
export function imageActivities(policy: ImagePolicy, provider: ProviderKind, account?: AccountRef) {
  const queue = { taskQueue: activityQueue(provider, account) };
  const nonRetryableErrorTypes = [...NON_RETRYABLE_ERRORS];
  const submit = proxyActivities<Activities>({
    ...queue,
    startToCloseTimeout: '60s',
    heartbeatTimeout: '10s',
    // Transient errors and 429s are retried with backoff, but never longer than the item's max wait.
    scheduleToCloseTimeout: policy.maxWaitMs,
    retry: { ...BACKOFF_RETRY, nonRetryableErrorTypes },
  });
  const collect = proxyActivities<Activities>({
    ...queue,
    startToCloseTimeout: '120s',
    heartbeatTimeout: '10s',
    scheduleToCloseTimeout: Math.max(policy.maxWaitMs - policy.expectedLatencyMs, 2 * policy.pollIntervalMs),
    retry: {
      initialInterval: policy.pollIntervalMs,
      backoffCoefficient: 1,
      maximumInterval: policy.pollIntervalMs,
      nonRetryableErrorTypes,
    },
  });
  // A synchronous provider's one call lasts as long as the generation: the max wait bounds it, heartbeats tell a
  // dead worker from a slow provider and carry a cancel to the call (at most 0.8 x the heartbeat timeout later).
  // A cancelled image waits until the call is dropped before it gives its account slot back: until then the
  // provider may still be generating (and billing) it.
  const generate = proxyActivities<Activities>({
    ...queue,
    startToCloseTimeout: policy.maxWaitMs,
    heartbeatTimeout: '10s',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    scheduleToCloseTimeout: policy.maxWaitMs,
    // One attempt: a call that failed after the provider did the work may be billed, so the workflow counts it
    // against the budget and decides about another (an activity retry would be an uncounted paid call).
    retry: { maximumAttempts: 1 },
  });
  // Best effort: with no worker of the provider running (often why someone cancels), it gives up after 2 minutes.
  const cleanup = proxyActivities<Activities>({
    ...queue,
    scheduleToStartTimeout: '2 minutes',
    startToCloseTimeout: '30s',
    retry: { maximumAttempts: 3 },
  });
  return {
    submitImage: submit.submitImage,
    collectImage: collect.collectImage,
    generateImage: generate.generateImage,
    cancelImage: cleanup.cancelImage,
  };
}

/**
 * Opens a provider's account (its activity reads the credentials, so it runs where they are): `account` given, that
 * one, on its own queue (only its workers answer); else whichever account answers first on the provider's queue.
 */
export function openAccountActivity(provider: ProviderKind, account?: AccountRef) {
  const workflowQueue = workflowInfo().taskQueue;
  const { openAccount } = proxyActivities<Activities>({
    taskQueue: activityQueue(provider, account),
    startToCloseTimeout: '1 minute',
    retry: BACKOFF_RETRY,
  });
  // The account's workflow belongs on the workflows' queue, not on the provider's (activities only).
  return () => openAccount({ provider, taskQueue: workflowQueue });
}

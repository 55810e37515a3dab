// The activities of a Batch API job, on the OpenAI account's queue (or the provider's), with their timeouts.
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { accountTaskQueue } from '../shared/account-queues';
import type { AccountRef } from '../shared/accounts';
import { BACKOFF_RETRY } from '../shared/backoff';
import { NON_RETRYABLE_ERRORS } from '../shared/errors';
import { providerTaskQueue } from '../shared/providers';

export function batchApiActivities(account?: AccountRef) {
  const wq = workflowInfo().taskQueue;
  const taskQueue = account ? accountTaskQueue(wq, account) : providerTaskQueue(wq, 'openai');
  const retry = { ...BACKOFF_RETRY, nonRetryableErrorTypes: [...NON_RETRYABLE_ERRORS] };
  // Upload of a file up to 200 MB, and the look-ups before it.
  const prepare = proxyActivities<Activities>({ taskQueue, startToCloseTimeout: '15 minutes', retry });
  // Create, poll, cancel: one small call each (the create first lists the account's jobs). The create heartbeats,
  // so a worker lost before its answer is noticed in seconds and the next attempt finds the job it made.
  const call = proxyActivities<Activities>({ taskQueue, startToCloseTimeout: '2 minutes', retry });
  const create = proxyActivities<Activities>({
    taskQueue,
    startToCloseTimeout: '2 minutes',
    heartbeatTimeout: '10s',
    retry,
  });
  // Reading result files that can be gigabytes, each image stored as it is read; heartbeats tell a dead worker.
  const collect = proxyActivities<Activities>({
    taskQueue,
    startToCloseTimeout: '6 hours',
    heartbeatTimeout: '1 minute',
    retry,
  });
  return {
    prepareBatchJob: prepare.prepareBatchJob,
    createBatchJob: create.createBatchJob,
    pollBatchJob: call.pollBatchJob,
    cancelBatchJob: call.cancelBatchJob,
    collectBatchJob: collect.collectBatchJob,
  };
}

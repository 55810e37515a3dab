// The activities a batch calls: paging items in, writing results and the manifest, asking after old children.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { BACKOFF_RETRY } from '../shared/backoff';
import { ErrorType } from '../shared/errors';

export const batchActivities = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { ...BACKOFF_RETRY, nonRetryableErrorTypes: [ErrorType.ItemsFileChanged] },
});

// The activities a batch calls: paging items in, writing results and the manifest, asking after old children.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

export const batchActivities = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', maximumInterval: '30s', nonRetryableErrorTypes: ['ItemsFileChanged'] },
});

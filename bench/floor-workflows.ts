// The smallest workflows the server can run, to measure its ceiling on this machine (see server-floor.ts).
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '30s' });

/** One workflow task: start, complete. */
export async function emptyWorkflow(): Promise<void> {}

/** Three workflow tasks and two activity tasks: the shape of an image's submit and collect, without the rest. */
export async function twoActivitiesWorkflow(): Promise<void> {
  await noop();
  await noop();
}

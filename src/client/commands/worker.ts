// `imagebatch worker`: a long-running worker. Run as many as you like, on as many machines, against one cluster.
import type { ProviderClients } from '../../providers';
import { PROVIDER_KINDS, providerTaskQueue } from '../../shared/providers';
import { setupWorker } from '../in-process';
import { planProviders } from '../provider-plan';
import { setupProviders } from '../provider-setup';
import { openSession } from '../session';
import { metricsAddress, resolveAccountLimits } from '../settings';
import { reportAccountSlots, servedAccounts } from '../../metrics/account-slots';

export interface WorkerFlags {
  provider?: string;
  endpoint?: string;
  db?: string;
  maxActivities?: number;
  maxWorkflowTasks?: number;
  taskQueue?: string;
  config?: string;
  metrics?: string;
}

/** "fal ('q@fal'), dashscope ('q@dashscope')" */
function servedQueues(taskQueue: string, providers: ProviderClients): string {
  const kinds = PROVIDER_KINDS.filter((k) => providers[k]);
  return kinds.map((k) => `${k} ('${providerTaskQueue(taskQueue, k)}')`).join(', ');
}

export async function workerCommand(flags: WorkerFlags): Promise<number> {
  const accountLimits = resolveAccountLimits(flags);
  const plan = planProviders(flags.provider, 'worker', process.env, flags.taskQueue);
  const setup = { ...(await setupProviders(plan, flags.endpoint)), accountLimits };
  const session = await openSession({ allowEmbedded: true, db: flags.db });
  try {
    const worker = await setupWorker(session, setup, {
      ...(flags.maxActivities ? { maxConcurrentActivityTaskExecutions: flags.maxActivities } : {}),
      ...(flags.maxWorkflowTasks ? { maxConcurrentWorkflowTaskExecutions: flags.maxWorkflowTasks } : {}),
    });
    if (setup.note) console.error(`imagebatch: ${setup.note}`);
    console.error(
      `imagebatch worker: polling task queue '${setup.taskQueue}' on ${session.target.address} (namespace ${session.target.namespace}); Ctrl-C stops it.`,
    );
    console.error(`Providers served (each on its own queue): ${servedQueues(setup.taskQueue, setup.providers)}.`);
    const limits = Object.entries(accountLimits).map(([p, n]) => `${p} ${n}`);
    if (limits.length) console.error(`Accounts this worker opens start with the limit: ${limits.join(', ')}.`);
    if (session.uiUrl) console.error(`Web UI: ${session.uiUrl}`);
    const metrics = metricsAddress(flags);
    if (metrics) console.error(`Prometheus metrics: http://${metrics}/metrics`);
    // The SDK's runtime turns SIGINT/SIGTERM into a graceful shutdown, which ends run().
    const stopSlots = metrics ? reportAccountSlots(session.client, servedAccounts(setup)) : undefined;
    await worker.run().finally(stopSlots);
    return 0;
  } finally {
    await session.close();
    await setup.simulator?.close();
  }
}

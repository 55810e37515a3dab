// `imagebatch worker`: a long-running worker. Run as many as you like, on as many machines, against one cluster.
import { createWorker } from '../../worker';
import { setupProviders } from '../provider-setup';
import { openSession } from '../session';

export interface WorkerFlags {
  provider?: string;
  endpoint?: string;
  db?: string;
  maxActivities?: number;
  maxWorkflowTasks?: number;
  taskQueue?: string;
}

export async function workerCommand(flags: WorkerFlags): Promise<number> {
  const setup = await setupProviders(flags.provider, flags.endpoint);
  if (flags.taskQueue) setup.taskQueue = flags.taskQueue;
  const session = await openSession({ allowEmbedded: true, db: flags.db });
  try {
    const worker = await createWorker({
      connection: await session.nativeConnection(),
      namespace: session.target.namespace,
      taskQueue: setup.taskQueue,
      providers: setup.providers,
      tuning: {
        ...(flags.maxActivities ? { maxConcurrentActivityTaskExecutions: flags.maxActivities } : {}),
        ...(flags.maxWorkflowTasks ? { maxConcurrentWorkflowTaskExecutions: flags.maxWorkflowTasks } : {}),
      },
    });
    if (setup.note) console.error(`imagebatch: ${setup.note}`);
    console.error(
      `imagebatch worker: polling task queue '${setup.taskQueue}' on ${session.target.address} (namespace ${session.target.namespace}); Ctrl-C stops it.`,
    );
    if (session.uiUrl) console.error(`Web UI: ${session.uiUrl}`);
    // The SDK's runtime turns SIGINT/SIGTERM into a graceful shutdown, which ends run().
    await worker.run();
    return 0;
  } finally {
    await session.close();
    await setup.simulator?.close();
  }
}

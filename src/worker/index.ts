// Worker construction, shared by `imagebatch worker`, `imagebatch run` and the tests.
import fs from 'node:fs';
import path from 'node:path';
import { type NativeConnection, type State, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { accountOf } from '../providers/account';
import { accountTaskQueue } from '../shared/account-queues';
import { TASK_QUEUE } from '../shared/constants';
import { PROVIDER_KINDS, providerTaskQueue } from '../shared/providers';
import { BUNDLE_FILE, workflowInterceptorModules } from './bundle';

/** src/workflows/index.ts under vitest or a TS runner, lib/workflows/index.js when compiled. */
export function workflowsPath(): string {
  const ts = path.join(__dirname, '../workflows/index.ts');
  return fs.existsSync(ts) ? ts : path.join(__dirname, '../workflows/index.js');
}

/** The bundle `npm run build` made, beside the compiled workflows it came from; the sources under a TS runner. */
function defaultWorkflows(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath' | 'interceptors'> {
  const source = workflowsPath();
  return source.endsWith('.js') && fs.existsSync(BUNDLE_FILE)
    ? { workflowBundle: { codePath: BUNDLE_FILE } }
    : { workflowsPath: source, interceptors: { workflowModules: workflowInterceptorModules() } };
}

export interface ImageWorkerOptions extends ActivityDeps {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  /** A prebuilt bundle (tests bundle once per file); else lib/workflow-bundle.js when compiled; else bundled at start. */
  workflowBundle?: { code: string } | { codePath: string };
  tuning?: Partial<WorkerOptions>;
}

/**
 * The workers of one process, run and shut down together: one on the task queue (every workflow, and the activities
 * that are no provider's), and one activity-only worker per provider it has a client for, on that provider's queue
 * `<queue>@<provider>`, and one on the queue of the account its credentials make, `<queue>@<provider>@<hash>`. A
 * provider's tasks thus reach only workers that hold its credentials, an account's tasks (an image's submit, polls,
 * cancel) only workers of that account (endpoint and key), and they wait while none runs.
 */
export class ImageWorker {
  constructor(
    readonly main: Worker,
    readonly providerWorkers: Worker[],
  ) {}

  get taskQueues(): string[] {
    return [this.main, ...this.providerWorkers].map((w) => w.options.taskQueue);
  }

  getState(): State {
    return this.main.getState();
  }

  /** Ends when all have stopped; when one fails, the others are shut down and its error is thrown. */
  async run(): Promise<void> {
    const all = [this.main, ...this.providerWorkers];
    const runs = all.map((w) =>
      w.run().catch((err: unknown) => {
        this.shutdown();
        throw err;
      }),
    );
    const settled = await Promise.allSettled(runs);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  shutdown(): void {
    for (const w of [this.main, ...this.providerWorkers]) if (w.getState() === 'RUNNING') w.shutdown();
  }
}

export async function createWorker(o: ImageWorkerOptions): Promise<ImageWorker> {
  const taskQueue = o.taskQueue ?? TASK_QUEUE;
  const activities = createActivities(o);
  const common = { connection: o.connection, namespace: o.namespace ?? 'default', activities };
  const main = await Worker.create({
    ...common,
    taskQueue,
    ...(o.workflowBundle ? { workflowBundle: o.workflowBundle } : defaultWorkflows()),
    ...o.tuning,
  });
  // Workflow tuning means nothing to a worker without workflows.
  const { maxConcurrentWorkflowTaskExecutions: _w, maxCachedWorkflows: _c, ...activityTuning } = o.tuning ?? {};
  const kinds = PROVIDER_KINDS.filter((k) => o.providers[k]);
  const queues = kinds.flatMap((kind) => [
    providerTaskQueue(taskQueue, kind),
    accountTaskQueue(taskQueue, accountOf(kind, o.providers, taskQueue)),
  ]);
  const providerWorkers = await Promise.all(
    queues.map((queue) => Worker.create({ ...common, taskQueue: queue, ...activityTuning })),
  );
  return new ImageWorker(main, providerWorkers);
}

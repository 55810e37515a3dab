// Worker construction, shared by `imagebatch worker`, `imagebatch run` and the tests.
import fs from 'node:fs';
import path from 'node:path';
import { type NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { TASK_QUEUE } from '../shared/constants';
import { BUNDLE_FILE } from './bundle';

/** src/workflows/index.ts under vitest or a TS runner, lib/workflows/index.js when compiled. */
export function workflowsPath(): string {
  const ts = path.join(__dirname, '../workflows/index.ts');
  return fs.existsSync(ts) ? ts : path.join(__dirname, '../workflows/index.js');
}

/** The bundle `npm run build` made, beside the compiled workflows it came from; the sources under a TS runner. */
function defaultWorkflows(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  const source = workflowsPath();
  return source.endsWith('.js') && fs.existsSync(BUNDLE_FILE)
    ? { workflowBundle: { codePath: BUNDLE_FILE } }
    : { workflowsPath: source };
}

export interface ImageWorkerOptions extends ActivityDeps {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  /** A prebuilt bundle (tests bundle once per file); else lib/workflow-bundle.js when compiled; else bundled at start. */
  workflowBundle?: { code: string } | { codePath: string };
  tuning?: Partial<WorkerOptions>;
}

export async function createWorker(o: ImageWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace ?? 'default',
    taskQueue: o.taskQueue ?? TASK_QUEUE,
    ...(o.workflowBundle ? { workflowBundle: o.workflowBundle } : defaultWorkflows()),
    activities: createActivities(o),
    ...o.tuning,
  });
}

// Per-test-file access to the run's one dev server, and workers on unique task queues.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { inject } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type WorkerOptions,
} from '@temporalio/worker';

// Keep worker logs quiet unless a test fails; warnings still show.
const quiet = new DefaultLogger('WARN');
Runtime.install({ logger: quiet });

let client: Client | undefined;
let native: NativeConnection | undefined;
const bundles = new Map<string, Promise<{ code: string }>>();

export function temporalAddress(): string {
  return inject('temporalAddress');
}

export async function testClient(): Promise<Client> {
  if (!client) {
    const connection = await Connection.connect({ address: temporalAddress() });
    client = new Client({ connection, namespace: inject('temporalNamespace') });
  }
  return client;
}

export async function nativeConnection(): Promise<NativeConnection> {
  native ??= await NativeConnection.connect({ address: temporalAddress() });
  return native;
}

export function uniqueQueue(prefix = 'test'): string {
  return `${prefix}-${randomUUID()}`;
}

export const SRC_WORKFLOWS = path.resolve(__dirname, '../../src/workflows/index.ts');

/** Bundles a workflows module once per test file (webpack takes about a second). */
export function workflowBundle(workflowsPath: string = SRC_WORKFLOWS): Promise<{ code: string }> {
  let b = bundles.get(workflowsPath);
  if (!b) {
    b = bundleWorkflowCode({ workflowsPath, logger: quiet });
    bundles.set(workflowsPath, b);
  }
  return b;
}

export async function createTestWorker(
  options: Partial<WorkerOptions> & { workflowsPath?: string; taskQueue: string },
): Promise<Worker> {
  const { workflowsPath, ...rest } = options;
  return Worker.create({
    connection: await nativeConnection(),
    namespace: inject('temporalNamespace'),
    workflowBundle: await workflowBundle(workflowsPath),
    ...rest,
  });
}

export async function closeConnections(): Promise<void> {
  await client?.connection.close();
  await native?.close();
  client = undefined;
  native = undefined;
}

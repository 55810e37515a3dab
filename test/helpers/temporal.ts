// Per-test-file access to the run's one dev server, and workers on unique task queues (integration tier only:
// the server's address comes from the globalSetup through `inject`, read lazily).
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { workflowBundle } from './bundle';

let client: Client | undefined;
let native: NativeConnection | undefined;

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

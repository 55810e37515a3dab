// Workers for tests of the five providers on the real dev server, built as `imagebatch worker` builds them
// (createWorker: one worker on the workflows' task queue, one per provider with credentials on `<queue>@<provider>`)
// from an environment of the test's choosing, so a test sets each provider's endpoint (two simulators, a closed
// port) through the same variables a real worker reads.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { providersFromEnv } from '../../src/providers';
import type { ProviderSimulator } from '../../src/providers/simulator/server';
import type { ProviderKind } from '../../src/shared/providers';
import { createWorker } from '../../src/worker';
import { workflowBundle } from './bundle';
import { nativeConnection, testClient, uniqueQueue } from './temporal';

/** Every provider's variables pointing at one simulator with its credentials (what its env() gives, and more). */
export function simulatorEnv(sim: ProviderSimulator): Record<string, string> {
  const k = sim.getKnobs();
  return {
    FAL_QUEUE_URL: `${sim.baseUrl}/fal`,
    FAL_KEY: k.falKey,
    OPENAI_BASE_URL: `${sim.baseUrl}/v1`,
    OPENAI_API_KEY: k.openaiKey,
    COMFYUI_URL: sim.baseUrl,
    ...sim.env(),
  };
}

/** A loopback port nothing listens on (it was free a moment ago): a provider that is down. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface ProviderWorkers {
  taskQueue: string;
  outDir: string;
  client: Awaited<ReturnType<typeof testClient>>;
  /** The providers served (those whose credentials `env` holds). */
  providers: ProviderKind[];
  stop(): Promise<void>;
}

export async function startProviderWorkers(env: Record<string, string | undefined>): Promise<ProviderWorkers> {
  const taskQueue = uniqueQueue('prov');
  const clients = providersFromEnv(env);
  const worker = await createWorker({
    connection: await nativeConnection(),
    namespace: inject('temporalNamespace'),
    taskQueue,
    providers: clients,
    workflowBundle: await workflowBundle(),
  });
  const running = worker.run();
  return {
    taskQueue,
    outDir: fs.mkdtempSync(path.join(os.tmpdir(), 'imagebatch-prov-')),
    client: await testClient(),
    providers: Object.keys(clients) as ProviderKind[],
    async stop() {
      worker.shutdown();
      await running;
    },
  };
}

// A simulator plus a real worker (the project's workflows and activities) on a unique task queue.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { providersFromEnv } from '../../src/providers';
import type { KnobsInput } from '../../src/providers/simulator/knobs';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import { createWorker, type ImageWorker } from '../../src/worker';
import type { ImagePolicy } from '../../src/shared/types';
import { workflowBundle } from './bundle';
import { nativeConnection, testClient, uniqueQueue } from './temporal';

export const FAST_POLICY: ImagePolicy = {
  pollIntervalMs: 200,
  maxWaitMs: 30_000,
  retries: 3,
  simplifications: 2,
  expectedLatencyMs: 200,
};

export interface ImageEnv {
  sim: ProviderSimulator;
  worker: ImageWorker;
  taskQueue: string;
  outDir: string;
  client: Awaited<ReturnType<typeof testClient>>;
  stop(): Promise<void>;
}

export async function startImageEnv(
  knobs: KnobsInput = {},
  o: { httpTimeoutMs?: number; env?: Record<string, string> } = {},
): Promise<ImageEnv> {
  const sim = await startSimulator({ latencyMs: 200, ...knobs });
  const taskQueue = uniqueQueue('img');
  const worker = await createWorker({
    connection: await nativeConnection(),
    taskQueue,
    providers: providersFromEnv({
      ...sim.env(),
      IMAGEBATCH_HTTP_TIMEOUT_MS: o.httpTimeoutMs ? String(o.httpTimeoutMs) : undefined,
      ...o.env,
    }),
    workflowBundle: await workflowBundle(),
  });
  const running = worker.run();
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'imagebatch-test-'));
  return {
    sim,
    worker,
    taskQueue,
    outDir,
    client: await testClient(),
    async stop() {
      worker.shutdown();
      await running;
      await sim.close();
    },
  };
}

/** Waits for a condition that another process makes true (polling it), failing after the timeout. */
export async function waitFor<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every file below dir, as paths relative to it. */
export function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

export function listFiles(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

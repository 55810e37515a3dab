// ComfyUI's crash window: the only worker (the real `imagebatch worker` process) is SIGKILLed while submits are on
// the wire, so ComfyUI queues jobs whose submitter is dead and no journal names them. The retried submits carry the
// same prompt_id (derived from workflow, run and activity id), find those jobs and queue nothing again: at the end
// the simulator's ComfyUI job count is the item count, and every item has its image.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import { cliEnv, spawnCli } from '../helpers/cli';
import { closeConnections, testClient, uniqueQueue } from '../helpers/temporal';
import { waitFor } from '../helpers/image-env';
import { makeItems, readManifest, startTestBatch } from '../helpers/batch';

const ITEMS = 12;

let sim: ProviderSimulator;
beforeAll(async () => {
  // Every POST /prompt is held 3 s before ComfyUI takes it: the window a kill lands in. Status requests are quick.
  sim = await startSimulator({
    latencyMs: { dist: 'uniform', min: 300, max: 900 },
    slow: 1,
    slowMs: 3000,
    faultsOn: 'submit',
    moderationWords: [],
  });
});
afterAll(async () => {
  await sim.close();
  await closeConnections();
});

const comfy = () =>
  sim.stats().byProvider.comfyui ?? {
    submissions: 0,
    refusedSubmissions: 0,
    maxInFlight: 0,
    cancels: 0,
    requestsByOutcome: {},
  };
/** POST /prompt requests the simulator is holding now (each is counted as `slow` when it arrives). */
const submitsOnTheWire = () => (comfy().requestsByOutcome.slow ?? 0) - comfy().submissions;

describe('ComfyUI worker crash during submits', () => {
  it('queues no second job for any item when the worker is killed with submits in flight', async () => {
    const queue = uniqueQueue('comfy-crash');
    // Only ComfyUI's variable: this worker serves ComfyUI and nothing else.
    const env = cliEnv({ COMFYUI_URL: sim.url, IMAGEBATCH_LOG_LEVEL: 'WARN' });
    const startWorker = () => spawnCli(['worker', '--task-queue', queue], { env });
    let worker = startWorker();
    const target = {
      client: await testClient(),
      taskQueue: queue,
      outDir: fs.mkdtempSync(path.join(os.tmpdir(), 'ib-comfy-crash-')),
    };
    const items = makeItems(ITEMS, 'comfy');
    const { handle, outDir } = await startTestBatch(target, queue, items, {
      provider: 'comfyui',
      concurrency: 6,
      policy: { pollIntervalMs: 300, expectedLatencyMs: 300, maxWaitMs: 120_000, retries: 3, simplifications: 2 },
    });

    // The simulator runs in this process: between this check and the kill it answers nothing, so exactly these
    // submits are on the wire when the worker dies.
    await waitFor(() => submitsOnTheWire() >= 2, 'two submits on the wire', 90_000);
    const onTheWire = submitsOnTheWire();
    const before = comfy().submissions;
    worker.kill('SIGKILL');
    await worker.done;

    // The held submits land: ComfyUI queues jobs for a worker that is gone, which no journal knows of.
    await waitFor(() => submitsOnTheWire() === 0, 'the held submits to land', 30_000);
    const orphans = comfy().submissions - before;
    expect(orphans).toBe(onTheWire);
    expect(orphans).toBeGreaterThanOrEqual(2);
    console.log(`killed with ${onTheWire} submits on the wire, after ${before} ComfyUI jobs`);

    worker = startWorker();
    const summary = await handle.result();
    worker.kill('SIGTERM');
    await worker.done;

    expect(summary).toMatchObject({ total: ITEMS, succeeded: ITEMS, failed: 0, cancelled: 0 });
    const stats = sim.stats();
    // One ComfyUI job per item: no retried submit queued its prompt again.
    expect(comfy().submissions).toBe(ITEMS);
    for (const it of items) expect(stats.submissionsByPrompt[it.prompt]).toBe(1);
    const m = readManifest(outDir);
    expect(m.items).toHaveLength(ITEMS);
    for (const e of m.items) {
      expect(e).toMatchObject({ status: 'succeeded', provider: 'comfyui', tasks: 1 });
      expect(fs.existsSync(path.join(outDir, e.file!))).toBe(true);
      expect(stats.served[e.providerTaskId!]).toBeDefined();
    }
    // The jobs queued for the dead worker are among those that made the images.
    const made = new Set(m.items.map((e) => e.providerTaskId));
    expect(Object.keys(stats.tasks).every((id) => made.has(id))).toBe(true);
    expect(fs.existsSync(path.join(outDir, '.imagebatch', 'tasks'))).toBe(false);
  });
});

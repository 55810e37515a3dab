// A 100-image batch whose only worker (the real `imagebatch worker` process) is SIGKILLed three times at
// seeded random points and restarted: every image arrives once, intact, and each kill costs at most one duplicate
// provider submission (the design's one window: a kill while a submit's HTTP call is in flight, before its journal
// entry is written). WORKER_CRASH_SEED=<n> replays the kill points of a run (each run prints its seed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { seededRandom } from '../../src/providers/simulator/random';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import { cliEnv, spawnCli } from '../helpers/cli';
import { closeConnections, testClient, uniqueQueue } from '../helpers/temporal';
import { waitFor } from '../helpers/image-env';
import { expectOutputsIntact, makeItems, startTestBatch } from '../helpers/batch';

let sim: ProviderSimulator;
beforeAll(async () => {
  sim = await startSimulator({ latencyMs: { dist: 'uniform', min: 200, max: 800 } });
});
afterAll(async () => {
  await sim.close();
  await closeConnections();
});

describe('worker crashes', () => {
  it('loses nothing, and pays twice at most once per kill, when the worker is killed three times', async () => {
    const seed = Number(process.env.WORKER_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`worker crash: kill points from seed ${seed} (WORKER_CRASH_SEED=${seed} replays them)`);
    const random = seededRandom(seed);
    const queue = uniqueQueue('crash');
    const env = cliEnv({ ...sim.env(), IMAGEBATCH_LOG_LEVEL: 'WARN' });
    const startWorker = () => spawnCli(['worker', '--task-queue', queue], { env });
    let worker = startWorker();
    const target = {
      client: await testClient(),
      taskQueue: queue,
      outDir: fs.mkdtempSync(path.join(os.tmpdir(), 'ib-crash-')),
    };
    const { handle, outDir } = await startTestBatch(target, queue, makeItems(100, 'crash'), {
      concurrency: 10,
      policy: { pollIntervalMs: 300, expectedLatencyMs: 300, maxWaitMs: 60_000, retries: 3, simplifications: 2 },
    });
    const kills: number[] = [];
    for (const base of [10, 40, 70]) {
      const at = base + Math.floor(random() * 15);
      await waitFor(() => sim.stats().submissions >= at, `${at} submissions`, 120_000);
      // Not synchronisation: the kill's random point in time. Killing the moment a submission is seen would aim
      // every kill at a submit's own in-flight window, the one place a duplicate cannot be avoided.
      await new Promise((r) => setTimeout(r, random() * 1000));
      worker.kill('SIGKILL');
      await worker.done;
      kills.push(sim.stats().submissions);
      worker = startWorker();
    }
    const summary = await handle.result();
    worker.kill('SIGTERM');
    await worker.done;
    const stats = sim.stats();
    console.log(
      `seed ${seed}: killed at ${kills.join(', ')} submissions; ${stats.submissions} submissions for 100 images`,
    );
    expect(summary).toMatchObject({ total: 100, succeeded: 100, failed: 0, cancelled: 0 });
    // A duplicate needs a kill inside a submit's few-millisecond window (the provider has answered, the journal is
    // not written yet): at most one per kill, and never a third submission of one image.
    expect(stats.submissions - 100).toBeLessThanOrEqual(kills.length);
    expect(Object.values(stats.submissionsByPrompt).filter((c) => c > 2)).toEqual([]);
    expect(Object.keys(stats.submissionsByPrompt)).toHaveLength(100);
    const m = expectOutputsIntact(outDir, stats);
    expect(m.items).toHaveLength(100);
    // The submitted-task journal is gone with the batch.
    expect(fs.existsSync(path.join(outDir, '.imagebatch', 'tasks'))).toBe(false);
  });
});

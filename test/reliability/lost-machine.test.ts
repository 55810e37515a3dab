// A worker machine lost right after the provider accepted a submit, with no disk shared with the next worker: the
// real `imagebatch worker` process is frozen (its JavaScript stopped through its inspector) the moment the accepted
// task's heartbeat is handed to the SDK's core, before the activity reports, then SIGKILLed; the batch's journal
// folder is deleted (the next machine has none). A second worker retries the submit and resumes the task the
// server kept as the attempt's heartbeat details: the provider is asked once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import { cliEnv, spawnCli } from '../helpers/cli';
import { inspectorUrl, pauseAt } from '../helpers/inspector';
import { closeConnections, testClient, uniqueQueue } from '../helpers/temporal';
import { waitFor } from '../helpers/image-env';
import { expectOutputsIntact, makeItems, startTestBatch } from '../helpers/batch';

let sim: ProviderSimulator;
beforeAll(async () => {
  sim = await startSimulator({ latencyMs: 300 });
});
afterAll(async () => {
  await sim.close();
  await closeConnections();
});

/**
 * The line of the SDK's worker right after a heartbeat is handed to its core (which sends it on its own threads): a
 * process stopped there has sent, or is sending, that heartbeat and nothing after it.
 */
function afterHeartbeatRecorded(): number {
  const lines = fs.readFileSync(require.resolve('@temporalio/worker/lib/worker.js'), 'utf8').split('\n');
  const recorded = lines.findIndex((l) => l.includes('this.nativeWorker.recordActivityHeartbeat('));
  const next = lines.findIndex((l, i) => i > recorded && l.includes('this.activityHeartbeatSubject.next('));
  if (recorded < 0 || next < 0) throw new Error('the SDK no longer records heartbeats where this test stops it');
  return next;
}

describe('a worker machine lost after the provider accepted a submit', () => {
  it('resumes the task from the heartbeat on another worker with no journal, paying once', async () => {
    const queue = uniqueQueue('lost-machine');
    const env = cliEnv({ ...sim.env(), IMAGEBATCH_LOG_LEVEL: 'WARN' });
    const first = spawnCli(['worker', '--task-queue', queue], {
      env: { ...env, NODE_OPTIONS: '--inspect=127.0.0.1:0' },
    });
    const inspector = await pauseAt(await waitFor(() => inspectorUrl(first.output.stderr), 'the inspector'), {
      urlRegex: '@temporalio/worker/lib/worker\\.js$',
      lineNumber: afterHeartbeatRecorded(),
      // Only the heartbeat that carries an accepted task.
      condition: "typeof details === 'object' && details !== null && typeof details.taskId === 'string'",
    });
    let frozen = false;
    void inspector.paused.then(() => (frozen = true));

    const client = await testClient();
    const target = { client, taskQueue: queue, outDir: fs.mkdtempSync(path.join(os.tmpdir(), 'ib-lost-')) };
    const [item] = makeItems(1, 'lost');
    const { handle, outDir } = await startTestBatch(target, queue, [item], { concurrency: 1 });
    await waitFor(() => frozen, 'the first worker stopped after its heartbeat', 60_000);
    expect(sim.stats().submissions).toBe(1);

    // The server has the task as the submit's heartbeat details (the first heartbeat of the attempt: sent at once).
    const image = client.workflow.getHandle(`batch-${queue}/${item.id}`);
    const heartbeated = async () => {
      const { raw } = await image.describe();
      const submit = raw.pendingActivities?.find((a) => a.activityType?.name === 'submitImage');
      const payload = submit?.heartbeatDetails?.payloads?.[0];
      return payload ? defaultPayloadConverter.fromPayload<{ taskId?: string }>(payload) : undefined;
    };
    await expect.poll(heartbeated, { timeout: 30_000 }).toMatchObject({ taskId: expect.any(String) });

    // The machine is gone, and with it its disk: the next worker has no journal.
    first.kill('SIGKILL');
    await first.done;
    inspector.close();
    fs.rmSync(path.join(outDir, '.imagebatch', 'tasks'), { recursive: true, force: true });
    const second = spawnCli(['worker', '--task-queue', queue], { env });
    const summary = await handle.result();
    second.kill('SIGTERM');
    await second.done;

    expect(summary).toMatchObject({ total: 1, succeeded: 1, failed: 0 });
    const stats = sim.stats();
    expect(stats.submissionsByPrompt).toEqual({ [item.prompt]: 1 });
    expect(stats.submissions).toBe(1);
    // The first worker never reported the submit, so the second ran it again: it resumed the task, it did not pay.
    const m = expectOutputsIntact(outDir, stats);
    expect(m.items).toHaveLength(1);
  });
});

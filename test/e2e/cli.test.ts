// The CLI as a process: exit codes, --json, settings, Ctrl-C detach, retry of a finished batch, control that
// answers (or says why not), status and watch read from the workflow.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import { progressQuery } from '../../src/shared/messages';
import { cliEnv, runCli, spawnCli } from '../helpers/cli';
import { closeConnections, testClient, uniqueQueue } from '../helpers/temporal';
import { waitFor } from '../helpers/image-env';
import { terminateBatchAndImages } from '../helpers/batch';
import { knobsFrom } from '../helpers/simulator-knobs';

let sim: ProviderSimulator;
let dir: string;
let n = 0;
const EXAMPLE = path.resolve(__dirname, '../../examples/items.jsonl');

/** The knobs every test starts from; a test that changes them needs not put them back. */
const BASE_KNOBS = { latencyMs: 100, moderationWords: ['unlucky', 'bloody'] };

beforeAll(async () => {
  sim = await startSimulator(BASE_KNOBS);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-cli-'));
});
beforeEach(() => sim.setKnobs(knobsFrom(BASE_KNOBS)));
/** Batches a test leaves running (on purpose, or because it failed half-way): terminated after it. */
const leftRunning: string[] = [];
afterEach(async () => {
  for (const id of leftRunning.splice(0)) await terminateBatchAndImages(await testClient(), id);
});
afterAll(async () => {
  await sim.close();
  await closeConnections();
});

/** The CLI in "real provider" mode, pointed at the test's simulator through the documented variables. */
const simEnv = (extra: Record<string, string> = {}) => cliEnv({ ...sim.env(), ...extra });
const fast = ['--poll-interval', '0.2', '--max-wait', '30'];
const batchId = (prefix: string) => `${prefix}-${++n}-${process.pid}`;

async function pollersOf(queue: string): Promise<number> {
  const client = await testClient();
  const d = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: queue, kind: 1 },
    taskQueueType: 1,
  });
  return d.pollers?.length ?? 0;
}

/**
 * Polls `queue` for workflow tasks like a worker, and never completes one: a worker that is there but does not
 * answer. (The server refuses a long poll without a deadline; the SDK's workers use 70 s.)
 */
function silentPoller(queue: string): { stop(): Promise<void> } {
  const aborted = new AbortController();
  const loop = (async () => {
    const client = await testClient();
    while (!aborted.signal.aborted) {
      const poll = client.withAbortSignal(aborted.signal, () =>
        client.withDeadline(Date.now() + 70_000, () =>
          client.workflowService.pollWorkflowTaskQueue({
            namespace: client.options.namespace,
            taskQueue: { name: queue, kind: 1 },
            identity: 'silent test poller',
          }),
        ),
      );
      // A failed poll is polled again, as a worker would, after a pause that keeps the loop from spinning.
      await poll.catch(() => new Promise((r) => setTimeout(r, 200)));
    }
  })();
  return {
    async stop() {
      aborted.abort();
      await loop;
    },
  };
}

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('imagebatch run', () => {
  it('runs the example with the built-in simulator and prints one JSON document', async () => {
    const id = batchId('example');
    const r = await runCli(['run', EXAMPLE, '--out', path.join(dir, 'out'), '--batch-id', id, '--json', ...fast]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/using the built-in provider simulator/);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ batchId: id, status: 'completed', counts: { total: 6, succeeded: 6, failed: 0 } });
    const battle = doc.items.find((i: any) => i.id === 'battle');
    expect(battle.prompts).toEqual([
      'a bloody battlefield at sunset, knights and banners, epic, detailed',
      'a battlefield at sunset, knights and banners, epic, detailed',
    ]);
    for (const item of doc.items) expect(fs.existsSync(item.file)).toBe(true);
    expect(fs.existsSync(path.join(dir, 'out', id, 'manifest.json'))).toBe(true);
  });

  it('exits 1 when an item fails, naming it and the reason (run, and status from the workflow)', async () => {
    const items = write('one-bad.jsonl', '{"id":"ok","prompt":"a calm lake"}\n{"id":"bad","prompt":"unlucky"}\n');
    const id = batchId('fail');
    const r = await runCli(['run', items, '--out', path.join(dir, 'out'), '--batch-id', id, ...fast], {
      env: simEnv(),
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/1 succeeded, 1 failed/);
    expect(r.stdout).toMatch(/bad: failed: moderation rejected the prompt/);
    // status reads the summary the workflow returned, not the (deleted) output folder.
    fs.rmSync(path.join(dir, 'out', id), { recursive: true });
    const status = await runCli(['status', id], { env: simEnv() });
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(
      new RegExp(`Batch ${id} completed with 1 failed: 1 succeeded, 1 failed, 0 cancelled`),
    );
    expect(status.stdout).toMatch(/bad: failed: moderation rejected the prompt/);
  });

  it('exits 3 when Temporal cannot be reached', async () => {
    const r = await runCli(['run', EXAMPLE, '--out', path.join(dir, 'out')], {
      env: simEnv({ TEMPORAL_ADDRESS: '127.0.0.1:1' }),
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot reach Temporal at 127\.0\.0\.1:1/);
  });

  it('takes settings from flags over env over config.json', async () => {
    // Long enough that every image the cap allows is in flight at the provider at once.
    sim.setKnobs({ latencyMs: 1500 });
    const cwd = fs.mkdtempSync(path.join(dir, 'cfg-'));
    fs.writeFileSync(
      path.join(cwd, 'config.json'),
      JSON.stringify({ image_generation: { max_concurrent: 1, max_wait_time: 40, poll_interval: 0.2 } }),
    );
    const items = write(
      'five.txt',
      ['one', 'two', 'three', 'four', 'five'].map((w) => `a painting of the number ${w}`).join('\n'),
    );
    sim.reset();
    const r = await runCli(['run', items, '--out', path.join(cwd, 'out'), '--batch-id', batchId('cfg')], {
      env: simEnv(),
      cwd,
    });
    expect(r.code).toBe(0);
    expect(sim.stats().maxInFlight).toBe(1);
    sim.reset();
    const r2 = await runCli(['run', items, '--out', path.join(cwd, 'out2'), '--batch-id', batchId('cfg')], {
      env: simEnv({ IMAGE_GENERATION_MAX_CONCURRENT: '5' }),
      cwd,
    });
    expect(r2.code).toBe(0);
    expect(sim.stats().maxInFlight).toBe(5);
    sim.reset();
    const r3 = await runCli(
      ['run', items, '--out', path.join(cwd, 'out3'), '--batch-id', batchId('cfg'), '--max-concurrent', '2'],
      { env: simEnv({ IMAGE_GENERATION_MAX_CONCURRENT: '5' }), cwd },
    );
    expect(r3.code).toBe(0);
    expect(sim.stats().maxInFlight).toBe(2);
  });

  it('detaches on a second Ctrl-C and leaves the batch running on the server', async () => {
    sim.setKnobs({ latencyMs: 60_000 });
    const id = batchId('detach');
    const child = spawnCli(['run', EXAMPLE, '--out', path.join(dir, 'out'), '--batch-id', id, ...fast], {
      env: simEnv(),
    });
    await waitFor(() => /started/.test(child.output.stderr) && sim.stats().submissions > 0, 'the batch to start');
    child.kill('SIGINT');
    await waitFor(() => /Ctrl-C again to detach/.test(child.output.stderr), 'the first Ctrl-C to be acknowledged');
    child.kill('SIGINT');
    const r = await child.done;
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`Detached from batch ${id}`));
    leftRunning.push(id);
    const desc = await (await testClient()).workflow.getHandle(`batch-${id}`).describe();
    expect(desc.status.name).toBe('RUNNING');
  });

  it('retries the failed items of a finished batch as a new batch into the same folder', async () => {
    const items = write(
      'retry.jsonl',
      '{"id":"a","prompt":"a red kite"}\n{"id":"b","prompt":"unlucky"}\n{"id":"c","prompt":"a blue boat"}\n',
    );
    const id = batchId('retry');
    const out = path.join(dir, 'out');
    const first = await runCli(['run', items, '--out', out, '--batch-id', id, ...fast], { env: simEnv() });
    expect(first.code).toBe(1);
    sim.setKnobs({ moderationWords: [] });
    const again = await runCli(['retry', id, '--json'], { env: simEnv() });
    expect(again.code).toBe(0);
    const doc = JSON.parse(again.stdout);
    expect(doc.batchId).toBe(`${id}-r1`);
    expect(doc.counts).toMatchObject({ total: 3, succeeded: 3, failed: 0 });
    const manifest = JSON.parse(fs.readFileSync(path.join(out, id, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ batchId: `${id}-r1`, retryOf: id });
    expect(manifest.items.map((e: any) => [e.id, e.status])).toEqual([
      ['a', 'succeeded'],
      ['b', 'succeeded'],
      ['c', 'succeeded'],
    ]);
  });
});

describe('imagebatch commands on a finished batch', () => {
  it('status and watch read the workflow; control gets a clear message; bad concurrency is refused', async () => {
    const id = batchId('done');
    const items = write('done.txt', 'a small house\n');
    const out = path.join(dir, 'out');
    const run = await runCli(['run', items, '--out', out, '--batch-id', id, '--json', ...fast], { env: simEnv() });
    expect(run.code).toBe(0);
    const runDoc = JSON.parse(run.stdout);
    // From a machine that cannot see the output folder.
    fs.rmSync(path.join(out, id), { recursive: true });
    const status = await runCli(['status', id, '--json'], { env: simEnv() });
    expect(status.code).toBe(0);
    const doc = JSON.parse(status.stdout);
    expect(doc).toMatchObject({
      batchId: id,
      workflowId: `batch-${id}`,
      status: 'completed',
      counts: { total: 1, succeeded: 1, failed: 0, cancelled: 0, skipped: 0 },
      manifest: path.join(out, id, 'manifest.json'),
      failures: [],
    });
    // run --json and status --json agree where they overlap.
    for (const k of ['batchId', 'workflowId', 'status', 'counts', 'manifest']) expect(doc[k]).toEqual(runDoc[k]);
    const watch = await runCli(['watch', id, '--json'], { env: simEnv() });
    expect(watch.code).toBe(0);
    expect(JSON.parse(watch.stdout)).toEqual(doc);
    const cancel = await runCli(['cancel', id], { env: simEnv() });
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toMatch(new RegExp(`batch ${id} has already finished \\(completed\\)`));
    const conc = await runCli(['concurrency', id, '0'], { env: simEnv() });
    expect(conc.code).toBe(2);
    expect(conc.stderr).toMatch(/expected a whole number from 1 to 2000, got '0'/);
    const unknown = await runCli(['status', 'no-such-batch'], { env: simEnv() });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no batch 'no-such-batch'/);
    const list = await runCli(['list', '--json'], { env: simEnv() });
    expect(JSON.parse(list.stdout).map((r: any) => r.batchId)).toContain(id);
  });
});

describe('imagebatch control of a running batch', () => {
  it('answers with what it did, and refuses with the reason', async () => {
    // Items stay running until the batch is cancelled.
    sim.setKnobs({ latencyMs: 60_000 });
    const id = batchId('control');
    leftRunning.push(id);
    const items = write(
      'control.jsonl',
      ['a', 'b', 'c', 'd', 'e'].map((k) => JSON.stringify({ id: k, prompt: `a slow painting ${k}` })).join('\n'),
    );
    const run = spawnCli(
      ['run', items, '--out', path.join(dir, 'out'), '--batch-id', id, '--concurrency', '3', ...fast],
      { env: simEnv() },
    );
    const handle = (await testClient()).workflow.getHandle(`batch-${id}`);
    const progress = await waitFor(async () => {
      const p = await handle.query(progressQuery).catch(() => undefined);
      return p && p.inFlight.length > 0 ? p : undefined;
    }, 'an item to be running');
    const cli = (...args: string[]) => runCli(args, { env: simEnv() });

    const conc = await cli('concurrency', id, '5');
    expect(conc.code).toBe(0);
    expect(conc.stdout).toMatch(new RegExp(`Batch ${id}: concurrency 3 -> 5`));

    const running = progress.inFlight[0];
    const retry = await cli('retry', id, '--item', running);
    expect(retry.code).toBe(2);
    expect(retry.stderr).toMatch(new RegExp(`batch ${id} refused: .*'?${running}'? is running`));

    const unknown = await cli('cancel', id, '--item', 'nosuch');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(new RegExp(`batch ${id} refused: .*nosuch.*(not in this batch|no item)`));

    const pause = await cli('pause', id);
    expect(pause.code).toBe(0);
    expect(pause.stdout).toMatch(new RegExp(`Batch ${id}: paused`));
    const pauseAgain = await cli('pause', id);
    expect(pauseAgain.code).toBe(2);
    expect(pauseAgain.stderr).toMatch(/refused: .*already paused/);
    const resume = await cli('resume', id);
    expect(resume.code).toBe(0);
    expect(resume.stdout).toMatch(new RegExp(`Batch ${id}: resumed`));

    const status = await cli('status', id, '--json');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ batchId: id, status: 'running', counts: { total: 5 } });

    const cancel = await cli('cancel', id);
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toMatch(new RegExp(`Batch ${id}: cancelling the batch`));
    const ended = await run.done;
    expect(ended.code).toBe(1);
    expect(ended.stdout).toMatch(new RegExp(`Batch ${id} cancelled`));
  });

  it('says so and exits 4 when no worker polls the batch, or none answers in time', async () => {
    const queue = uniqueQueue('no-worker');
    const id = batchId('idle');
    leftRunning.push(id);
    const items = write('idle.txt', 'a quiet field\n');
    const start = await runCli(
      ['start', items, '--out', path.join(dir, 'out'), '--batch-id', id, '--task-queue', queue],
      { env: simEnv() },
    );
    expect(start.code).toBe(0);
    for (const args of [
      ['cancel', id],
      ['status', id],
    ]) {
      const r = await runCli(args, { env: simEnv() });
      expect(r.code).toBe(4);
      expect(r.stderr).toContain(`no worker polls task queue '${queue}'`);
      expect(r.stderr).toContain(`imagebatch worker --task-queue ${queue}`);
    }

    // A poller that takes the batch's workflow task and never answers: the server lists it, but nothing answers.
    const silent = silentPoller(queue);
    try {
      await waitFor(async () => (await pollersOf(queue)) > 0, 'the silent poller to be listed');
      const r = await runCli(['concurrency', id, '7'], { env: simEnv({ IMAGEBATCH_CONTROL_TIMEOUT_MS: '1000' }) });
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(new RegExp(`no worker answered for batch ${id} .*task queue '${queue}'`));
      expect(r.stderr).toMatch(/may still apply when a worker picks the batch up/);
    } finally {
      await silent.stop();
    }
  });
});

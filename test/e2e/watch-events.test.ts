// `imagebatch events BATCH`: one JSON line per image as it ends, then one for the batch, read from Temporal (never the
// folder). Attached mid-batch it starts from the beginning; a second one of the finished batch prints the same image
// lines; a batch that continued-as-new has each image once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { accountOf } from '../../src/providers/account';
import { providersFromEnv } from '../../src/providers';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import { makeItems, startTestBatch, terminateBatchAndImages } from '../helpers/batch';
import { cliEnv, runCli, spawnCli } from '../helpers/cli';
import { waitFor } from '../helpers/image-env';
import { closeConnections, testClient } from '../helpers/temporal';

let sim: ProviderSimulator;
let dir: string;
let env: NodeJS.ProcessEnv;
let worker: ReturnType<typeof spawnCli>;
const batches: string[] = [];

beforeAll(async () => {
  sim = await startSimulator({ latencyMs: 1500 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-events-'));
  env = cliEnv({ ...sim.env(), IMAGEBATCH_CONTROL_TIMEOUT_MS: '3000' });
  worker = spawnCli(['worker', '--provider', 'volcengine'], { env });
  await waitFor(() => worker.output.stderr.includes('polling task queue'), 'the worker to poll');
});
afterAll(async () => {
  worker.kill('SIGINT');
  await worker.done;
  const client = await testClient();
  for (const id of batches) await terminateBatchAndImages(client, id);
  await client.workflow
    .getHandle(accountOf('volcengine', providersFromEnv(env), env.IMAGEBATCH_TASK_QUEUE!).workflowId)
    .terminate('test cleanup')
    .catch(() => undefined);
  await sim.close();
  await closeConnections();
});

/** The JSON lines of `events`, each parsed (a line that is not JSON fails the test). */
const linesOf = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

describe('imagebatch events', () => {
  it('attached mid-batch, prints every image once from the start, then the batch; again the same', async () => {
    const batchId = `events-${process.pid}`;
    batches.push(batchId);
    const items = path.join(dir, 'items.jsonl');
    const lines = [
      { id: 'harbour', prompt: 'a quiet harbour at dawn' },
      { id: 'fox', prompt: 'a red fox in the snow', n: 2 },
      { id: 'battle', prompt: 'a bloody battlefield at sunset' },
      { id: 'teapot', prompt: 'a glass teapot' },
      { id: 'city', prompt: 'a city at night' },
    ];
    fs.writeFileSync(items, lines.map((l) => JSON.stringify(l)).join('\n'));
    const ids = ['harbour', 'fox-1', 'fox-2', 'battle', 'teapot', 'city'];
    const out = path.join(dir, 'out');
    const start = await runCli(
      ['start', items, '--out', out, '--batch-id', batchId, '--provider', 'volcengine', '--concurrency', '2'].concat([
        '--poll-interval',
        '0.2',
      ]),
      { env },
    );
    expect(start.code, start.stderr).toBe(0);
    // Mid-batch: an image has ended, and the batch runs on.
    await expect
      .poll(
        async () => {
          const r = await runCli(['status', batchId, '--json'], { env });
          const doc = r.code === 0 ? JSON.parse(r.stdout) : undefined;
          return doc?.status === 'running' ? doc.counts.succeeded : 0;
        },
        { timeout: 60_000 },
      )
      .toBeGreaterThan(0);
    const first = await runCli(['events', batchId], { env });
    expect(first.code, first.stderr).toBe(0);
    const events = linesOf(first.stdout);
    const images = events.slice(0, -1);
    expect(images.map((e) => e.type)).toEqual(ids.map(() => 'image'));
    expect(images.map((e) => e.itemId).sort()).toEqual([...ids].sort());
    // In the order they ended.
    const ended = images.map((e) => e.endedAt);
    expect(ended).toEqual([...ended].sort());
    for (const e of images) {
      expect(e).toMatchObject({ status: 'succeeded', provider: 'volcengine', attempts: expect.any(Number) });
      expect(fs.existsSync(e.file), e.file).toBe(true);
      // The line's sha256 is the stored file's.
      expect(createHash('sha256').update(fs.readFileSync(e.file)).digest('hex')).toBe(e.sha256);
    }
    const byId = Object.fromEntries(images.map((e) => [e.itemId, e]));
    expect(byId['fox-2']).toMatchObject({ group: 'fox', variant: 2, prompt: 'a red fox in the snow' });
    expect(byId.harbour.group).toBeUndefined();
    // The moderated prompt's line names the rewrite that made the image.
    expect(byId.battle.prompt).not.toBe('a bloody battlefield at sunset');
    expect(byId.battle.prompt).toMatch(/battlefield/);
    expect(byId.battle.attempts).toBe(2);
    expect(events.at(-1)).toMatchObject({
      type: 'batch',
      batchId,
      status: 'completed',
      counts: { total: 6, succeeded: 6, failed: 0 },
    });

    // The finished batch, again: the same image lines, and the summary.
    const again = await runCli(['events', batchId], { env });
    expect(again.code).toBe(0);
    expect(linesOf(again.stdout)).toEqual(events);
  });

  it('a batch that continued-as-new: each image once, across its runs', async () => {
    const client = await testClient();
    const target = { client, taskQueue: env.IMAGEBATCH_TASK_QUEUE!, outDir: path.join(dir, 'can') };
    const { handle, batchId } = await startTestBatch(target, `events-can-${process.pid}`, makeItems(8, 'can'), {
      continueAsNewAfterEvents: 60,
    });
    batches.push(batchId);
    // Read once it has ended: the images of its first runs are in histories before the last.
    await handle.result();
    const r = await runCli(['events', batchId], { env });
    expect(r.code, r.stderr).toBe(0);
    const description = await handle.describe();
    // It did continue as new.
    expect(description.raw.workflowExecutionInfo?.firstRunId).not.toBe(description.runId);
    const events = linesOf(r.stdout);
    expect(
      events
        .slice(0, -1)
        .map((e) => e.itemId)
        .sort(),
    ).toEqual(
      makeItems(8, 'can')
        .map((i) => i.id)
        .sort(),
    );
    expect(events.at(-1)).toMatchObject({ type: 'batch', status: 'completed', counts: { succeeded: 8 } });
  });

  it('an unknown batch: exit 2, naming it', async () => {
    const r = await runCli(['events', 'no-such-batch'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no batch 'no-such-batch'");
  });
});

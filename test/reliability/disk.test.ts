// A full disk or a read-only output folder must not burn paid submissions: each item is submitted at most once and
// fails with the reason (LocalStorage), no `*.tmp` file is left, the batch pauses at its first image that cannot be
// stored, and the batch's own files (the results log) wait for room instead of half-writing. A real full (1 MB
// tmpfs, filled) or read-only filesystem: needs root.
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { batchFolder } from '../../src/output/batch-folder';
import { progressQuery, resumeUpdate } from '../../src/shared/messages';
import type { BatchProgress } from '../../src/shared/batch-types';
import type { ImageResult } from '../../src/shared/types';
import { imageWorkflow } from '../../src/workflows';
import { childrenOf, expectOutputsIntact, makeItems, startTestBatch } from '../helpers/batch';
import { FAST_POLICY, type ImageEnv, startImageEnv, waitFor, walk } from '../helpers/image-env';
import { closeConnections } from '../helpers/temporal';

let env: ImageEnv;
/** Mounted by the test, innermost last: unmounted in reverse order after it. */
const mounted: string[] = [];
let n = 0;

beforeAll(async () => {
  env = await startImageEnv({ latencyMs: 200 });
});
afterAll(async () => {
  await env.stop();
  await closeConnections();
});
afterEach(() => {
  for (const dir of mounted.splice(0).reverse()) execFileSync('umount', ['-l', dir]);
});

/** A 1 MB tmpfs; `full`: filled to the last byte; `readOnly`: remounted read-only once `prepare` made its folders. */
function smallDisk(o: { full?: boolean; readOnly?: boolean; prepare?: (dir: string) => void }): string {
  if (process.getuid?.() !== 0) throw new Error('disk tests mount a tmpfs and need root');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
  mounted.push(dir);
  o.prepare?.(dir);
  if (o.full) fill(dir);
  if (o.readOnly) execFileSync('mount', ['-o', 'remount,ro', dir]);
  return dir;
}

const fillerOf = (dir: string) => path.join(dir, 'filler');

function fill(dir: string): void {
  try {
    fs.writeFileSync(fillerOf(dir), Buffer.alloc(2 << 20));
  } catch (err) {
    expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
  }
}

/** Runs `count` images into `outDir`; returns each one's result (they all fail here). */
async function runImages(outDir: string, count: number): Promise<ImageResult[]> {
  const prefix = `disk-${++n}`;
  const handles = await Promise.all(
    makeItems(count, prefix).map((item) =>
      env.client.workflow.start(imageWorkflow, {
        taskQueue: env.taskQueue,
        workflowId: `${env.taskQueue}/${item.id}`,
        args: [{ batchId: prefix, item, provider: 'volcengine', outDir, policy: FAST_POLICY }],
      }),
    ),
  );
  return Promise.all(
    handles.map((h) =>
      h.result().then(
        (r) => r,
        (err: unknown) => {
          expect(err).toBeInstanceOf(WorkflowFailedError);
          return ((err as WorkflowFailedError).cause as ApplicationFailure).details![0] as ImageResult;
        },
      ),
    ),
  );
}

/** Submissions the simulator accepted per prompt of this test's items. */
function submissionsOf(results: ImageResult[]): number[] {
  const by = env.sim.stats().submissionsByPrompt;
  return results.map((r) => by[r.prompts[0]] ?? 0);
}

const tmpFiles = (dir: string) => walk(dir).filter((f) => f.endsWith('.tmp'));

/** The batch's activity of this type once it is being retried (its second attempt or later). */
async function retriedActivity(handle: WorkflowHandle, type: string) {
  const { raw } = await handle.describe();
  return raw.pendingActivities?.find((a) => a.activityType?.name === type && Number(a.attempt ?? 0) >= 2);
}

describe('a full disk', () => {
  it('costs one submission per image, which fails with the reason, and leaves no tmp file', async () => {
    const disk = smallDisk({ full: true });
    const results = await runImages(path.join(disk, 'batch'), 3);
    for (const r of results) {
      expect(r).toMatchObject({ status: 'failed', errorType: 'LocalStorage', tasks: 1 });
      expect(r.error).toMatch(/the output folder .*batch cannot be written: no space left on device/);
    }
    expect(submissionsOf(results)).toEqual([1, 1, 1]);
    expect(tmpFiles(disk)).toEqual([]);
  });

  it('makes the results log wait for room: the batch ends once there is room, with no cut line, paying once', async () => {
    // The images, the journal and the manifest have room (an ordinary folder); the results log alone is on a full
    // disk: a file of a filled tmpfs, bind-mounted where the log goes.
    const batchId = `disk-log-${++n}`;
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-disk-'));
    const folder = batchFolder(path.join(base, batchId));
    const disk = smallDisk({ prepare: (d) => fs.writeFileSync(path.join(d, 'results.jsonl'), ''), full: true });
    fs.mkdirSync(folder.stateDir, { recursive: true });
    fs.writeFileSync(folder.resultsLog, '');
    execFileSync('mount', ['--bind', path.join(disk, 'results.jsonl'), folder.resultsLog]);
    mounted.push(folder.resultsLog);
    const items = makeItems(3, batchId);
    const target = { client: env.client, taskQueue: env.taskQueue, outDir: base };
    const { handle, outDir } = await startTestBatch(target, batchId, items, { concurrency: 3 });

    // Every image is made and stored; the batch waits, retrying the append, and does not end.
    const waiting = await waitFor(() => retriedActivity(handle, 'recordResults'), 'the results log to be retried');
    expect(waiting.lastFailure?.message).toMatch(/cannot be written: no space left on device/);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    expect(await handle.query(progressQuery)).toMatchObject({ succeeded: 3, running: 0 });
    expect(fs.existsSync(folder.manifest)).toBe(false);
    expect(fs.readFileSync(folder.resultsLog, 'utf8')).toBe('');
    expect(tmpFiles(outDir)).toEqual([]);

    // Room again: the retried append writes whole lines and the batch ends, no image made twice.
    fs.rmSync(fillerOf(disk));
    expect(await handle.result()).toMatchObject({ total: 3, succeeded: 3, failed: 0 });
    const lines = fs.readFileSync(folder.resultsLog, 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { itemId: string }).itemId).sort()).toEqual(items.map((i) => i.id));
    expect(expectOutputsIntact(outDir, env.sim.stats()).items).toHaveLength(3);
    expect(items.map((i) => env.sim.stats().submissionsByPrompt[i.prompt])).toEqual([1, 1, 1]);
  });

  it('pauses a batch at its first image that cannot be stored, saying why, and resumes once there is room', async () => {
    const disk = smallDisk({ full: true });
    const batchId = `disk-batch-${++n}`;
    const items = makeItems(6, batchId);
    const target = { client: env.client, taskQueue: env.taskQueue, outDir: disk };
    const { handle, outDir } = await startTestBatch(target, batchId, items, { concurrency: 2 });
    const submitted = () => items.map((i) => env.sim.stats().submissionsByPrompt[i.prompt] ?? 0);

    // Paused with the reason, and once the images in flight have reported, nothing runs.
    let p: BatchProgress | undefined;
    await waitFor(async () => (p = await handle.query(progressQuery)).paused && p.running === 0, 'the batch to pause');
    expect(p!.stopped).toMatch(/^paused: the output folder .* cannot be written: no space left on device/);
    expect(p!.failed).toBeGreaterThanOrEqual(1);
    expect(p!.failed).toBeLessThanOrEqual(2);
    expect(p).toMatchObject({ succeeded: 0, queued: 6 - p!.failed });
    // Each image that started was paid for once, and none started after the pause.
    expect(submitted().filter((c) => c === 1)).toHaveLength(p!.failed);
    expect(submitted().filter((c) => c > 1)).toEqual([]);
    expect(await childrenOf(env.client, handle.workflowId)).toHaveLength(p!.failed);

    // Room again, and resumed: the rest are made, and the failed ones are not submitted again.
    fs.rmSync(fillerOf(disk));
    expect(await handle.executeUpdate(resumeUpdate, { args: [{}] })).toEqual({ message: 'resumed' });
    expect(await handle.result()).toMatchObject({ total: 6, succeeded: 6 - p!.failed, failed: p!.failed });
    expect(submitted()).toEqual(items.map(() => 1));
    expect(tmpFiles(outDir)).toEqual([]);
  });
});

describe('a read-only output folder', () => {
  it('fails each image with the reason before anything is submitted', async () => {
    const disk = smallDisk({ readOnly: true, prepare: (d) => fs.mkdirSync(path.join(d, 'batch')) });
    const results = await runImages(path.join(disk, 'batch'), 2);
    for (const r of results) {
      expect(r).toMatchObject({ status: 'failed', errorType: 'LocalStorage' });
      expect(r.error).toMatch(/cannot be written: read-only file system/);
    }
    expect(submissionsOf(results)).toEqual([0, 0]);
  });
});

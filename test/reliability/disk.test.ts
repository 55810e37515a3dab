// A full disk or a read-only output folder must not burn paid submissions: each item is submitted at most once and
// fails with the reason (LocalStorage), no `*.tmp` file is left, and the batch's own files (results log, manifest)
// wait for room instead of half-writing. A real full (1 MB tmpfs, filled) or read-only filesystem: needs root.
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { createBatchActivities } from '../../src/activities/batch';
import { latestResults, type ResultRecord } from '../../src/output/results-log';
import type { ImageResult } from '../../src/shared/types';
import { imageWorkflow } from '../../src/workflows';
import { makeItems, startTestBatch } from '../helpers/batch';
import { FAST_POLICY, type ImageEnv, startImageEnv, waitFor, walk } from '../helpers/image-env';
import { closeConnections } from '../helpers/temporal';

let env: ImageEnv;
let mounted: string | undefined;
let n = 0;

beforeAll(async () => {
  env = await startImageEnv({ latencyMs: 200 });
});
afterAll(async () => {
  await env.stop();
  await closeConnections();
});
afterEach(() => {
  if (mounted) execFileSync('umount', ['-l', mounted]);
  mounted = undefined;
});

/** A 1 MB tmpfs; `full`: filled to the last byte; `readOnly`: remounted read-only once `prepare` made its folders. */
function smallDisk(o: { full?: boolean; readOnly?: boolean; prepare?: (dir: string) => void }): string {
  if (process.getuid?.() !== 0) throw new Error('disk tests mount a tmpfs and need root');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
  mounted = dir;
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

  it('makes the results log and the manifest wait for room, without a cut line or a tmp file', async () => {
    const disk = smallDisk({});
    const outDir = path.join(disk, 'batch');
    const { recordResults, writeManifest } = createBatchActivities();
    const record = (i: number): ResultRecord => ({
      itemId: `i${i}`,
      status: 'succeeded',
      provider: 'volcengine',
      attempts: 1,
      prompts: [`prompt ${i} ${'x'.repeat(200)}`],
      at: i,
      seq: i,
    });
    await new MockActivityEnvironment().run(recordResults, { outDir, results: [record(0)] });
    fill(disk);
    const log = path.join(outDir, '.imagebatch', 'results.jsonl');
    const size = fs.statSync(log).size;
    // Larger than what is left of the log's last page: part of it would be written before ENOSPC.
    const many = Array.from({ length: 40 }, (_, i) => record(i + 1));
    const failed = await new MockActivityEnvironment().run(recordResults, { outDir, results: many }).catch((e) => e);
    expect(failed).toMatchObject({ type: 'LocalStorage', nonRetryable: false });
    expect(fs.statSync(log).size).toBe(size);
    const manifest = { outDir, batchId: 'b', items: { kind: 'inline' as const, items: [] }, cancelled: false };
    const noManifest = await new MockActivityEnvironment()
      .run(writeManifest, { ...manifest, provider: 'volcengine' as const })
      .catch((e) => e);
    expect(noManifest).toMatchObject({ type: 'LocalStorage', nonRetryable: false });
    expect(tmpFiles(disk)).toEqual([]);
    // Room again: the retried append writes whole lines after the old ones.
    fs.rmSync(fillerOf(disk));
    await new MockActivityEnvironment().run(recordResults, { outDir, results: many });
    expect((await latestResults(outDir)).size).toBe(41);
  });

  it('pauses a batch at its first image that cannot be stored: no item submitted twice, none started after', async () => {
    const disk = smallDisk({ full: true });
    const items = makeItems(6, `disk-batch-${++n}`);
    const target = { client: env.client, taskQueue: env.taskQueue, outDir: disk };
    const { handle } = await startTestBatch(target, `disk-batch-${n}`, items, { concurrency: 2 });
    const submitted = () => items.map((i) => env.sim.stats().submissionsByPrompt[i.prompt] ?? 0);
    await waitFor(() => submitted().filter(Boolean).length >= 2, 'two submissions');
    // Long enough for a batch that did not pause to start (and pay for) the next images.
    await new Promise((r) => setTimeout(r, 4000));
    expect(Math.max(...submitted())).toBe(1);
    expect(submitted().reduce((a, b) => a + b)).toBeLessThanOrEqual(2);
    await handle.terminate('test done');
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

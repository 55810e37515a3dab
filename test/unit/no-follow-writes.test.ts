// Writes in the output folder never follow a symbolic link planted there (results.jsonl -> ~/.bashrc would run an
// items file's prompt in the next shell) and never block on a FIFO: the link's target is untouched.
import { beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { journalTask } from '../../src/activities/task-journal';
import { createBatchActivities } from '../../src/activities/batch';
import { batchFolder } from '../../src/output/batch-folder';
import { itemsSourceFor, INLINE_LIMIT_BYTES } from '../../src/output/items-copy';
import { buildManifest, writeManifestFile } from '../../src/output/manifest';
import { appendResults, type ResultRecord } from '../../src/output/results-log';

let dir: string;
let victim: string;
const ORIGINAL = 'export PS1="$ "\n';

beforeEach(() => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-nofollow-'));
  dir = path.join(root, 'batch');
  fs.mkdirSync(path.join(dir, '.imagebatch', 'tasks'), { recursive: true });
  victim = path.join(root, 'bashrc');
  fs.writeFileSync(victim, ORIGINAL);
});

const plant = (at: string) => fs.symlinkSync(victim, at);
const untouched = () => expect(fs.readFileSync(victim, 'utf8')).toBe(ORIGINAL);

const record: ResultRecord = {
  itemId: 'a',
  status: 'succeeded',
  provider: 'volcengine',
  attempts: 1,
  prompts: ['echo pwned'],
  at: 1,
  seq: 1,
};
const manifest = () =>
  buildManifest({
    dir,
    batchId: 'b',
    ids: ['a'],
    latest: new Map(),
    cancelled: false,
    provider: 'volcengine',
    now: new Date(),
  });
const entry = { key: { workflowId: 'w', runId: 'r', activityId: '1' }, taskId: 't', model: 'm', submittedAt: '' };

describe('writes in the output folder', () => {
  it('refuse to append results through a link at results.jsonl', async () => {
    plant(batchFolder(dir).resultsLog);
    await expect(appendResults(dir, [record])).rejects.toMatchObject({ code: 'ELOOP' });
    untouched();
  });

  it('refuse to append results into a FIFO at results.jsonl instead of blocking', async () => {
    execFileSync('mkfifo', [batchFolder(dir).resultsLog]);
    await expect(appendResults(dir, [record])).rejects.toMatchObject({ code: 'ENXIO' });
  });

  it('refuse a link standing for the .imagebatch folder', async () => {
    fs.rmSync(batchFolder(dir).stateDir, { recursive: true });
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-elsewhere-'));
    fs.symlinkSync(elsewhere, batchFolder(dir).stateDir);
    await expect(appendResults(dir, [record])).rejects.toMatchObject({ code: 'ELOOP' });
    expect(fs.readdirSync(elsewhere)).toEqual([]);
  });

  it.each([
    ['manifest.json.tmp', () => `${batchFolder(dir).manifest}.tmp`],
    ['manifest.json', () => batchFolder(dir).manifest],
  ])('replace a link at %s instead of writing through it', async (_name, at) => {
    plant(at());
    await writeManifestFile(dir, manifest());
    untouched();
    expect(fs.lstatSync(batchFolder(dir).manifest).isFile()).toBe(true);
    expect(fs.existsSync(`${batchFolder(dir).manifest}.tmp`)).toBe(false);
  });

  it.each([
    ['tasks/a.json.tmp', () => `${batchFolder(dir).taskEntry('a')}.tmp`],
    ['tasks/a.json', () => batchFolder(dir).taskEntry('a')],
  ])('write the journal entry past a link at %s', async (_name, at) => {
    plant(at());
    await journalTask(dir, 'a', entry);
    untouched();
    expect(JSON.parse(fs.readFileSync(batchFolder(dir).taskEntry('a'), 'utf8')).taskId).toBe('t');
  });

  it.each([
    ['items.jsonl.tmp', () => `${batchFolder(dir).itemsCopy}.tmp`],
    ['items.jsonl', () => batchFolder(dir).itemsCopy],
  ])('write the items copy past a link at %s', (_name, at) => {
    plant(at());
    const prompt = 'x'.repeat(1000);
    const items = Array.from({ length: Math.ceil(INLINE_LIMIT_BYTES / 1000) + 1 }, (_, i) => ({ id: `i${i}`, prompt }));
    expect(itemsSourceFor(items, dir).kind).toBe('file');
    untouched();
  });

  it('make recordResults fail as LocalStorage at once (the batch pauses, not retries) naming the link', async () => {
    plant(batchFolder(dir).resultsLog);
    const { recordResults } = createBatchActivities();
    const err = await new MockActivityEnvironment()
      .run(recordResults, { outDir: dir, results: [record] })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'LocalStorage', nonRetryable: true });
    expect((err as Error).message).toMatch(/cannot be written: a symbolic link is in the way/);
    untouched();
  });
});

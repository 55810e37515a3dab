// A symbolic link planted in the batch folder where its results log goes: imagebatch never writes through it, and
// the batch does not retry the write for ever either (a link does not go away by itself): it pauses, saying why,
// so that a follower (`run`) sees it stopped and ends; once the link is gone, resume writes the results and the
// batch ends without paying for any image again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isStopped } from '../../src/client/batch-outcome';
import { batchFolder } from '../../src/output/batch-folder';
import type { BatchProgress } from '../../src/shared/batch-types';
import { progressQuery, resumeUpdate } from '../../src/shared/messages';
import { expectOutputsIntact, makeItems, startTestBatch } from '../helpers/batch';
import { type ImageEnv, startImageEnv, waitFor } from '../helpers/image-env';
import { closeConnections } from '../helpers/temporal';

let env: ImageEnv;

beforeAll(async () => {
  // Tasks are held until the test releases them: the link is planted while every image is in flight.
  env = await startImageEnv({ latencyMs: 600_000 });
});
afterAll(async () => {
  await env.stop();
  await closeConnections();
});

describe('a symbolic link planted where the results log goes', () => {
  it('pauses the batch with the reason, and resume writes the results once the link is gone', async () => {
    const batchId = `planted-${process.pid}`;
    const items = makeItems(4, batchId);
    const target = { client: env.client, taskQueue: env.taskQueue, outDir: env.outDir };
    const { handle, outDir } = await startTestBatch(target, batchId, items, { concurrency: 4 });
    const folder = batchFolder(outDir);

    // Mid-batch: every image submitted (the state folder exists, its journal in it), none finished yet.
    await waitFor(() => env.sim.stats().submissions === 4, 'the four submissions');
    const elsewhere = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ib-elsewhere-')), 'not-yours.txt');
    fs.writeFileSync(elsewhere, 'keep me\n');
    fs.rmSync(folder.resultsLog, { force: true });
    fs.symlinkSync(elsewhere, folder.resultsLog);
    expect(env.sim.finishNow()).toBe(4);

    // Paused, saying why, with nothing running: what `run`'s follow takes as stopped (it ends and reports).
    let p: BatchProgress | undefined;
    await waitFor(async () => (p = await handle.query(progressQuery)).paused && p.running === 0, 'the pause');
    expect(p!.stopped).toMatch(/^paused: the output folder .* cannot be written: a symbolic link is in the way/);
    expect(p!.stopped).toContain(folder.resultsLog);
    expect(p).toMatchObject({ succeeded: 4, failed: 0, done: false });
    expect(isStopped(p!)).toBe(true);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    expect(fs.readFileSync(elsewhere, 'utf8')).toBe('keep me\n');
    expect(fs.existsSync(folder.manifest)).toBe(false);

    // The link removed and the batch resumed: the results are written, the batch ends, nothing is paid twice.
    fs.rmSync(folder.resultsLog);
    expect(await handle.executeUpdate(resumeUpdate, { args: [{}] })).toEqual({ message: 'resumed' });
    expect(await handle.result()).toMatchObject({ total: 4, succeeded: 4, failed: 0 });
    const lines = fs.readFileSync(folder.resultsLog, 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { itemId: string }).itemId).sort()).toEqual(items.map((i) => i.id));
    expect(expectOutputsIntact(outDir, env.sim.stats()).items).toHaveLength(4);
    expect(items.map((i) => env.sim.stats().submissionsByPrompt[i.prompt])).toEqual([1, 1, 1, 1]);
    expect(fs.readFileSync(elsewhere, 'utf8')).toBe('keep me\n');
  });
});

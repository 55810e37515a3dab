// A local failure after the provider accepted a task never leads to a second submission, and an output folder that
// cannot be written fails as LocalStorage (the item fails with the reason) instead of being retried or resubmitted.
// A file or folder in the way stands in for a read-only or full disk here; test/reliability/disk.test.ts uses those.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../src/activities';
import { batchFolder } from '../../src/output/batch-folder';
import { providersFromEnv } from '../../src/providers';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import type { SubmitImageOutput } from '../../src/shared/types';

let sim: ProviderSimulator;
let outDir: string;
let acts: ReturnType<typeof createActivities>;
let n = 0;

beforeAll(async () => {
  sim = await startSimulator({ latencyMs: 0 });
  acts = createActivities({ providers: providersFromEnv(sim.env()) });
});
afterAll(() => sim.close());
beforeEach(() => {
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-local-'));
});

/** One scheduled submit (its retries share the key) of item `a`. */
function scheduled(attempt: number, workflowId: string) {
  return new MockActivityEnvironment({ activityId: '1', attempt, workflowExecution: { workflowId, runId: 'run' } });
}

const submitA = (env: MockActivityEnvironment): Promise<SubmitImageOutput> =>
  env.run(acts.submitImage, { provider: 'volcengine' as const, outDir, itemId: 'a', request: { prompt: `p${n}` } });

async function failure(p: Promise<unknown>) {
  return p.then(
    () => expect.unreachable('expected a failure'),
    (e: unknown) => e as { type?: string; nonRetryable?: boolean; message: string },
  );
}

describe('submitImage after the provider accepted the task', () => {
  it('returns the task when its journal entry cannot be written, and a retry resumes it without paying again', async () => {
    const wf = `image-${++n}`;
    // A folder where the entry's tmp file goes: the journal write fails after the submit.
    fs.mkdirSync(`${batchFolder(outDir).taskEntry('a')}.tmp`, { recursive: true });
    const before = sim.stats().submissions;
    const first = await submitA(scheduled(1, wf));
    expect(first).toHaveProperty('taskId');
    // The attempt's result was lost (the worker was slow to report): the retry resumes the same task.
    const retried = await submitA(scheduled(2, wf));
    expect(retried).toEqual(first);
    expect(sim.stats().submissions - before).toBe(1);
  });
});

describe('the submitted-task journal', () => {
  it("is on disk for a retry on another worker, which does not share this process's memory", async () => {
    const wf = `image-${++n}`;
    const first = await submitA(scheduled(1, wf));
    const entry = JSON.parse(fs.readFileSync(batchFolder(outDir).taskEntry('a'), 'utf8'));
    expect(entry).toMatchObject({ ...first, key: { workflowId: wf, runId: 'run', activityId: '1' } });
  });
});

describe('an output folder that cannot be written', () => {
  it('fails submitImage as LocalStorage before the provider is paid (a file where .imagebatch goes)', async () => {
    fs.writeFileSync(batchFolder(outDir).stateDir, 'in the way');
    const before = sim.stats().submissions;
    const f = await failure(submitA(scheduled(1, `image-${++n}`)));
    expect(f).toMatchObject({ type: 'LocalStorage', nonRetryable: true });
    expect(f.message).toMatch(/the output folder .* cannot be written: /);
    expect(sim.stats().submissions - before).toBe(0);
  });

  it('fails collectImage as LocalStorage with the reason, not as a retryable download error', async () => {
    const task = await submitA(scheduled(1, `image-${++n}`));
    if (!('taskId' in task)) throw new Error('expected a task');
    fs.mkdirSync(path.join(outDir, 'a.png.tmp'));
    const f = await failure(
      new MockActivityEnvironment().run(acts.collectImage, {
        provider: 'volcengine' as const,
        outDir,
        itemId: 'a',
        ...task,
      }),
    );
    expect(f).toMatchObject({ type: 'LocalStorage', nonRetryable: true });
    expect(f.message).toMatch(/cannot be written: a folder is in the way of a file/);
  });

  it('fails writeManifest at once (a folder in the way does not heal: the batch pauses) and leaves no .tmp', async () => {
    fs.mkdirSync(batchFolder(outDir).manifest);
    const f = await failure(
      new MockActivityEnvironment().run(acts.writeManifest, {
        outDir,
        batchId: 'b',
        items: { kind: 'inline' as const, items: [{ id: 'a', prompt: 'p' }] },
        cancelled: false,
        provider: 'volcengine' as const,
      }),
    );
    expect(f).toMatchObject({ type: 'LocalStorage', nonRetryable: true });
    expect(fs.readdirSync(outDir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });
});

// The image activities in MockActivityEnvironment against the simulator over loopback HTTP.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../src/activities';
import { providersFromEnv } from '../../src/providers';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import type { SubmitImageOutput } from '../../src/shared/types';
import { failure } from '../helpers/failures';

let sim: ProviderSimulator;
let outDir: string;
let acts: ReturnType<typeof createActivities>;

beforeAll(async () => {
  sim = await startSimulator({ latencyMs: 0 });
  acts = createActivities({ providers: providersFromEnv(sim.env()), maxImageBytes: 1024 * 1024 });
});
afterAll(() => sim.close());
beforeEach(() => {
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-acts-'));
  sim.setKnobs({ latencyMs: 0, badImage: 0 });
});

/** The folder's files but the batch's own state folder. */
const images = () => fs.readdirSync(outDir).filter((f) => f !== '.imagebatch');
const journal = () => fs.readdirSync(path.join(outDir, '.imagebatch', 'tasks'));

async function submit(prompt: string, env = new MockActivityEnvironment()) {
  const out: SubmitImageOutput = await env.run(acts.submitImage, {
    provider: 'dashscope' as const,
    outDir,
    itemId: 'a',
    request: { prompt },
  });
  if (!('taskId' in out)) throw new Error(`expected a provider task, got ${JSON.stringify(out)}`);
  return { provider: 'dashscope' as const, ...out, outDir, itemId: 'a' };
}

describe('collectImage', () => {
  it('throws a retryable, benign TaskPending while the task runs', async () => {
    sim.setKnobs({ latencyMs: 60_000 });
    const task = await submit('pending one');
    const f = await failure(new MockActivityEnvironment().run(acts.collectImage, task));
    expect(f.type).toBe('TaskPending');
    expect(f.nonRetryable).toBe(false);
    expect(f.category).toBe('BENIGN');
  });

  it('turns a 429 into a RateLimited failure that carries Retry-After as the next retry delay', async () => {
    const task = await submit('limited one');
    sim.setKnobs({ fail429: 1 });
    const f = await failure(new MockActivityEnvironment().run(acts.collectImage, task));
    sim.setKnobs({ fail429: 0 });
    expect(f.type).toBe('RateLimited');
    expect(f.nextRetryDelay).toBe(1000);
  });

  it.each([
    ['wrong-magic', 'BadImage', true],
    ['oversize', 'BadImage', true],
    ['not-found', 'BadImage', true],
    ['redirect-non-http', 'BadImage', true],
    // A cut connection is retried: the next attempt polls and downloads again.
    ['truncated', 'Transient', false],
  ] as const)(
    'fails a bad download (%s) as %s (non-retryable: %s) and leaves no file',
    async (badImageKind, type, nonRetryable) => {
      const task = await submit(`bad ${badImageKind}`);
      sim.setKnobs({ badImage: 1, badImageKind });
      const f = await failure(new MockActivityEnvironment().run(acts.collectImage, task));
      expect(f.type).toBe(type);
      expect(f.nonRetryable).toBe(nonRetryable);
      expect(images()).toEqual([]);
    },
  );

  it('returns the file a previous attempt already stored instead of writing another', async () => {
    const task = await submit('stored once');
    const first = await new MockActivityEnvironment().run(acts.collectImage, task);
    const second = await new MockActivityEnvironment({ attempt: 2 }).run(acts.collectImage, task);
    expect(second).toEqual(first);
    expect(images()).toEqual(['a.png']);
  });
});

describe('submitImage', () => {
  const scheduled = (activityId: string, attempt: number) =>
    new MockActivityEnvironment({ activityId, attempt, workflowExecution: { workflowId: 'image-a', runId: 'run-1' } });

  it('resumes the task an attempt that died before reporting had submitted, instead of paying for another', async () => {
    const before = sim.stats().submissions;
    const first = await submit('submitted once', scheduled('3', 1));
    const retried = await submit('submitted once', scheduled('3', 2));
    expect(retried.taskId).toBe(first.taskId);
    expect(sim.stats().submissions - before).toBe(1);
    expect(journal()).toEqual(['a.json']);
  });

  it('submits anew when the workflow schedules another submit for the item', async () => {
    const before = sim.stats().submissions;
    const first = await submit('resubmitted', scheduled('3', 1));
    const again = await submit('resubmitted', scheduled('7', 2));
    expect(again.taskId).not.toBe(first.taskId);
    expect(sim.stats().submissions - before).toBe(2);
  });

  it('forgets the task once its image is on disk', async () => {
    const task = await submit('forgotten', scheduled('3', 1));
    await new MockActivityEnvironment().run(acts.collectImage, task);
    expect(journal()).toEqual([]);
    expect(images()).toEqual(['a.png']);
  });
});

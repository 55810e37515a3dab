// The submit journal's first home is the server: an accepted task goes out as the submit's heartbeat details, and a
// retried attempt on any worker (no journal in its memory or on its disk) resumes it from them without paying again.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../src/activities';
import { providersFromEnv } from '../../src/providers';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import type { SubmitImageOutput } from '../../src/shared/types';

let sim: ProviderSimulator;
let outDir: string;
let acts: ReturnType<typeof createActivities>;

beforeAll(async () => {
  sim = await startSimulator({ latencyMs: 0 });
  acts = createActivities({ providers: providersFromEnv(sim.env()), maxImageBytes: 1024 * 1024 });
});
afterAll(() => sim.close());
beforeEach(() => {
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-submit-hb-'));
});

const tasksDir = () => path.join(outDir, '.imagebatch', 'tasks');

/**
 * One attempt of a scheduled submit, with the heartbeat details the server gave it; its heartbeats collected. Each
 * test's submit has an activity id of its own: this process's memory never knew its task (a worker on another machine).
 */
function attempt(activityId: string, n: number, heartbeatDetails?: unknown) {
  const env = new MockActivityEnvironment({
    activityId,
    attempt: n,
    heartbeatDetails,
    workflowExecution: { workflowId: 'image-hb', runId: 'run-1' },
  });
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => heartbeats.push(d));
  const run = (prompt: string): Promise<SubmitImageOutput> =>
    env.run(acts.submitImage, { provider: 'dashscope' as const, outDir, itemId: 'a', request: { prompt } });
  return { run, heartbeats };
}

describe('the submit heartbeat', () => {
  it('carries the accepted task with every heartbeat after the provider took it', async () => {
    const first = attempt('1', 1);
    const submitted = await first.run('heartbeated');
    if (!('taskId' in submitted)) throw new Error(`expected a task, got ${JSON.stringify(submitted)}`);
    expect(first.heartbeats).not.toEqual([]);
    expect(first.heartbeats.at(-1)).toMatchObject({ taskId: submitted.taskId, model: submitted.model });
  });

  it('resumes the heartbeated task on a worker with no journal, without a request to the provider', async () => {
    // The details a first attempt on a lost machine sent, as the server gives them to the retry.
    const lost = attempt('2', 1);
    const submitted = await lost.run('submitted on a lost machine');
    if (!('taskId' in submitted)) throw new Error(`expected a task, got ${JSON.stringify(submitted)}`);
    const details = lost.heartbeats.at(-1);
    fs.rmSync(tasksDir(), { recursive: true, force: true });
    const before = sim.stats().submissions;

    const retry = attempt('3', 2, details);
    const resumed = await retry.run('submitted on a lost machine');
    expect(resumed).toEqual({ taskId: submitted.taskId, model: submitted.model });
    expect(sim.stats().submissions).toBe(before);
    expect(sim.stats().submissionsByPrompt['submitted on a lost machine']).toBe(1);
    expect(fs.existsSync(tasksDir())).toBe(false);
    // Heartbeated again: a retry of this attempt finds it as well.
    expect(retry.heartbeats.at(-1)).toMatchObject({ taskId: submitted.taskId });
  });

  it('counts the attempts before as submissions when it resumes', async () => {
    const details = { taskId: 'task-from-elsewhere', model: 'wanx-v1', submittedAt: new Date().toISOString() };
    const before = sim.stats().submissions;
    expect(await attempt('4', 4, details).run('resumed late')).toEqual({
      taskId: 'task-from-elsewhere',
      model: 'wanx-v1',
      attempts: 3,
    });
    expect(sim.stats().submissions).toBe(before);
  });

  it('submits when the details an earlier attempt left name no task', async () => {
    const before = sim.stats().submissions;
    const out = await attempt('5', 2, { progress: 1 }).run('no task named');
    expect(out).toHaveProperty('taskId');
    expect(sim.stats().submissions).toBe(before + 1);
  });
});

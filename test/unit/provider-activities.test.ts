// The activities of the new providers against the simulator over loopback: OpenAI's one heartbeating call, the
// ComfyUI submit keyed by the journal's key (a retried submit finds its job), an item's own graph file, and a
// provider this worker has no client for.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../src/activities';
import { workflowQueueOf } from '../../src/activities/accounts';
import { providersFromEnv } from '../../src/providers';
import { comfyPromptId } from '../../src/providers/comfyui/client';
import { DEFAULT_COMFY_WORKFLOW } from '../../src/providers/comfyui/default-graph';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import type { GenerateImageOutput, SubmitImageOutput } from '../../src/shared/types';
import { failure } from '../helpers/failures';

let sim: ProviderSimulator;
let outDir: string;
let acts: ReturnType<typeof createActivities>;

beforeAll(async () => {
  sim = await startSimulator({ latencyMs: 0, moderationWords: ['gore'] });
  acts = createActivities({ providers: providersFromEnv(sim.env()) });
});
afterAll(() => sim.close());
beforeEach(() => {
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-prov-acts-'));
  sim.setKnobs({ latencyMs: 0, fail429: 0, concurrencyLimit: 0 });
});

const generate = (prompt: string, o: { throttledIsAnswer?: boolean } = {}): Promise<GenerateImageOutput> =>
  new MockActivityEnvironment().run(acts.generateImage, {
    provider: 'openai' as const,
    outDir,
    itemId: 'a',
    request: { prompt },
    ...o,
  });

describe('generateImage (synchronous providers)', () => {
  it('stores the image of one call and returns it with the model; a stored image is not generated again', async () => {
    const out = await generate('a lighthouse');
    if (!('stored' in out)) throw new Error(`expected a stored image, got ${JSON.stringify(out)}`);
    expect(out.model).toBe('gpt-image-1');
    expect(out.stored).toMatchObject({ file: path.join(outDir, 'a.png'), mime: 'image/png' });
    const calls = sim.stats().byProvider.openai.submissions;
    expect(await generate('a lighthouse')).toEqual({ existing: out.stored });
    expect(sim.stats().byProvider.openai.submissions).toBe(calls);
  });

  it('classifies moderation as ContentRejected, and a throttle is answered when the image holds a slot', async () => {
    expect((await failure(generate('a gore scene'))).type).toBe('ContentRejected');
    sim.setKnobs({ fail429: 1 });
    expect(await generate('x', { throttledIsAnswer: true })).toEqual({ throttled: { retryAfterMs: 1000 } });
    const f = await failure(generate('x'));
    expect(f.type).toBe('RateLimited');
    expect(f.nextRetryDelay).toBe(1000);
  });

  it('heartbeats while the provider works, and a cancel aborts the call', async () => {
    sim.setKnobs({ latencyMs: 600_000 });
    const env = new MockActivityEnvironment();
    let beats = 0;
    // The first heartbeat is sent at the start, the second by the timer while the call is still open.
    const twice = new Promise<void>((resolve) => env.on('heartbeat', () => ++beats === 2 && resolve()));
    const running = env.run(acts.generateImage, {
      provider: 'openai' as const,
      outDir,
      itemId: 'c',
      request: { prompt: 'slow' },
    });
    await twice;
    env.cancel();
    await expect(running).rejects.toThrow();
    expect(fs.readdirSync(outDir)).toEqual([]);
  });
});

describe('submitImage to ComfyUI', () => {
  const scheduled = () =>
    new MockActivityEnvironment({ activityId: '5', workflowExecution: { workflowId: 'batch-b/a', runId: 'r1' } });
  const submit = (env: MockActivityEnvironment, workflow?: string): Promise<SubmitImageOutput> =>
    env.run(acts.submitImage, {
      provider: 'comfyui' as const,
      outDir,
      itemId: 'a',
      request: { prompt: 'a fox', ...(workflow ? { workflow } : {}) },
    });

  it("names the prompt after the submit's key, so the same submit sent again finds its job instead of a second", async () => {
    sim.setKnobs({ latencyMs: 60_000 });
    const before = sim.stats().byProvider.comfyui?.submissions ?? 0;
    const first = await submit(scheduled());
    expect(first).toMatchObject({ taskId: comfyPromptId('batch-b/a/r1/5') });
    // A first attempt on another worker (no journal entry in its memory or on its disk) looks before it posts.
    fs.rmSync(path.join(outDir, '.imagebatch'), { recursive: true });
    expect(await submit(scheduled())).toEqual(first);
    expect(sim.stats().byProvider.comfyui.submissions - before).toBe(1);
  });

  it("sends the item's own graph file, and fails InvalidRequest when it is gone", async () => {
    const file = path.join(outDir, 'graph.json');
    const graph = structuredClone(DEFAULT_COMFY_WORKFLOW);
    graph.graph['3'].inputs.steps = 4;
    fs.writeFileSync(file, JSON.stringify(graph));
    const out = await submit(new MockActivityEnvironment(), file);
    expect(out).toHaveProperty('taskId');
    fs.rmSync(file);
    const f = await failure(submit(new MockActivityEnvironment({ activityId: '6' }), file));
    expect(f.type).toBe('InvalidRequest');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toMatch(/graph\.json: cannot be read: ENOENT/);
  });
});

describe('a provider this worker has no client for', () => {
  it('fails every provider activity retryably (another worker may have the keys), naming the variables', async () => {
    const bare = createActivities({ providers: providersFromEnv({ DASHSCOPE_API_KEY: 'd' }) });
    const target = { outDir, itemId: 'z', request: { prompt: 'x' } };
    const env = () => new MockActivityEnvironment();
    const checks = [
      env().run(bare.submitImage, { ...target, provider: 'fal' as const }),
      env().run(bare.generateImage, { ...target, provider: 'openai' as const }),
      env().run(bare.collectImage, { outDir, itemId: 'z', provider: 'comfyui' as const, taskId: 't', model: 'm' }),
      env().run(bare.cancelImage, { provider: 'volcengine' as const, taskId: 't', model: 'm' }),
    ];
    const names = ['FAL_KEY', 'OPENAI_API_KEY', 'COMFYUI_URL', 'VOLC_ACCESSKEY and VOLC_SECRETKEY'];
    const settled = await Promise.allSettled(checks);
    for (const [i, r] of settled.entries()) {
      const f = await failure(r.status === 'rejected' ? Promise.reject(r.reason) : Promise.resolve(r.value));
      expect(f).toMatchObject({ type: 'NoProviderClient', nonRetryable: false });
      expect(f.message).toContain(names[i]);
    }
  });

  it('a task activity asked of a synchronous provider (and the reverse) is InvalidRequest', async () => {
    const target = { outDir, itemId: 'y', request: { prompt: 'x' } };
    const f = await failure(
      new MockActivityEnvironment().run(acts.submitImage, { ...target, provider: 'openai' as const }),
    );
    expect(f).toMatchObject({ type: 'InvalidRequest', nonRetryable: true });
    const g = await failure(
      new MockActivityEnvironment().run(acts.generateImage, { ...target, provider: 'fal' as const }),
    );
    expect(g.message).toMatch(/fal is not a synchronous provider/);
  });
});

describe('openAccount', () => {
  it("starts the account's workflow on the workflows' queue, not on the provider's", () => {
    expect(workflowQueueOf('imagebatch@fal', 'fal')).toBe('imagebatch');
    expect(workflowQueueOf('imagebatch', 'fal')).toBe('imagebatch');
    expect(workflowQueueOf('q@fal', 'dashscope')).toBe('q@fal');
  });
});

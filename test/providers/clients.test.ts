// Both provider clients against the simulator over real loopback HTTP, for every status and error class.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { request } from 'undici';
import { PNG } from 'pngjs';
import { buildDashscopeBody, DashscopeClient } from '../../src/providers/dashscope/client';
import { VolcengineClient } from '../../src/providers/volcengine/client';
import { type ImageProviderClient, ProviderError } from '../../src/providers/types';
import { ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import type { KnobsInput } from '../../src/providers/simulator/knobs';

let sim: ProviderSimulator;
const DEFAULTS: KnobsInput = { latencyMs: 0, moderationWords: ['gore'] };

beforeAll(async () => {
  sim = await startSimulator(DEFAULTS);
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.reset();
  sim.setKnobs({
    ...sim.getKnobs(),
    fail5xx: 0,
    fail429: 0,
    malformed: 0,
    hang: 0,
    slow: 0,
    expire: 0,
    outputReject: 0,
    concurrencyLimit: 0,
    latencyMs: 0,
    moderationAt: 'submit',
    volcengineImages: 'auto',
  });
});

const clients: Record<string, () => ImageProviderClient> = {
  volcengine: () =>
    new VolcengineClient({
      endpoint: sim.url,
      accessKeyId: 'AKSIMULATOR',
      secretAccessKey: 'SKSIMULATOR',
      timeoutMs: 2000,
    }),
  dashscope: () => new DashscopeClient({ baseUrl: `${sim.url}/api/v1`, apiKey: 'sk-simulator', timeoutMs: 2000 }),
};

async function errorOf(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

async function download(url: string): Promise<Buffer> {
  const res = await request(url);
  expect(res.statusCode).toBe(200);
  return Buffer.from(await res.body.arrayBuffer());
}

describe.each(Object.keys(clients))('%s client', (kind) => {
  const client = () => clients[kind]();

  it('submits, sees the task queued, then done with a real PNG', async () => {
    sim.setKnobs({ latencyMs: 60_000 });
    const c = client();
    const task = await c.submit({ prompt: 'a red fox', width: 512, height: 768, seed: 7 });
    expect(task.taskId).toBeTruthy();
    expect(['pending', 'running']).toContain((await c.status(task)).state);

    sim.setKnobs({ latencyMs: 0 });
    const done = await c.submit({ prompt: 'a red fox', width: 512, height: 768, seed: 7 });
    const st = await c.status(done);
    expect(st.state).toBe('done');
    if (st.state !== 'done') return;
    const ref = st.images[0];
    const bytes = 'url' in ref ? await download(ref.url) : Buffer.from(ref.base64, 'base64');
    const png = PNG.sync.read(bytes);
    expect([png.width, png.height]).toEqual([64, 96]);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(sim.stats().served[done.taskId]);
    expect(sim.stats().submissionsByPrompt['a red fox']).toBe(2);
  });

  it('classifies moderation at submit as ContentRejected', async () => {
    const err = await errorOf(client().submit({ prompt: 'a gore scene' }));
    expect(err.type).toBe('ContentRejected');
    expect(sim.stats().refusedSubmissions).toBe(1);
  });

  it('classifies moderation at result as ContentRejected', async () => {
    sim.setKnobs({ moderationAt: 'result' });
    const c = client();
    const task = await c.submit({ prompt: 'a gore scene' });
    const outcome = await c.status(task).then(
      (s) => (s.state === 'failed' ? s.error : s),
      (e: unknown) => e,
    );
    expect(outcome).toBeInstanceOf(ProviderError);
    expect((outcome as ProviderError).type).toBe('ContentRejected');
  });

  it('classifies 5xx as Transient', async () => {
    sim.setKnobs({ fail5xx: 1 });
    expect((await errorOf(client().submit({ prompt: 'x' }))).type).toBe('Transient');
  });

  it('classifies 429 as RateLimited with its retry-after', async () => {
    sim.setKnobs({ fail429: 1 });
    const err = await errorOf(client().submit({ prompt: 'x' }));
    expect(err.type).toBe('RateLimited');
    expect(err.details.retryAfterMs).toBe(1000);
  });

  it('classifies a malformed body as Transient', async () => {
    const c = client();
    const task = await c.submit({ prompt: 'x' });
    sim.setKnobs({ malformed: 1 });
    expect((await errorOf(c.status(task))).type).toBe('Transient');
  });

  it('classifies a hung response as Transient once the client times out', async () => {
    sim.setKnobs({ hang: 1, hangMs: 30_000 });
    expect((await errorOf(client().submit({ prompt: 'x' }))).type).toBe('Transient');
  });

  it('classifies an expired task as TaskGone', async () => {
    sim.setKnobs({ expire: 1 });
    const c = client();
    const task = await c.submit({ prompt: 'x' });
    expect((await errorOf(c.status(task))).type).toBe('TaskGone');
  });

  it('classifies an unknown task as TaskGone', async () => {
    const c = client();
    expect((await errorOf(c.status({ taskId: '123', model: 'jimeng_t2i_v40' }))).type).toBe('TaskGone');
  });

  it('classifies the provider concurrency limit as RateLimited and counts in-flight tasks', async () => {
    sim.setKnobs({ concurrencyLimit: 2, latencyMs: 60_000 });
    const c = client();
    await c.submit({ prompt: 'a' });
    await c.submit({ prompt: 'b' });
    expect((await errorOf(c.submit({ prompt: 'c' }))).type).toBe('RateLimited');
    expect(sim.stats().maxInFlight).toBe(2);
  });

  it('classifies wrong credentials as AuthFailed', async () => {
    const bad =
      kind === 'volcengine'
        ? new VolcengineClient({ endpoint: sim.url, accessKeyId: 'AKSIMULATOR', secretAccessKey: 'wrong' })
        : new DashscopeClient({ baseUrl: `${sim.url}/api/v1`, apiKey: 'sk-wrong' });
    const err = await errorOf(bad.submit({ prompt: 'x' }));
    expect(err.type).toBe('AuthFailed');
    if (kind === 'volcengine') expect(err.details.code).toBe(100010);
  });

  it('classifies missing credentials as AuthFailed without a request', async () => {
    const none =
      kind === 'volcengine'
        ? new VolcengineClient({ endpoint: sim.url })
        : new DashscopeClient({ baseUrl: `${sim.url}/api/v1` });
    expect((await errorOf(none.submit({ prompt: 'x' }))).type).toBe('AuthFailed');
    expect(sim.stats().requestsByOutcome).toEqual({});
  });

  it('cancels a running task', async () => {
    sim.setKnobs({ latencyMs: 60_000 });
    const c = client();
    const task = await c.submit({ prompt: 'x' });
    await c.cancel(task);
    expect(sim.stats().cancelledTaskIds).toEqual([task.taskId]);
    expect(sim.stats().inFlight).toBe(0);
  });
});

describe('volcengine specifics', () => {
  const volc = () => clients.volcengine();

  it('returns base64 images when asked to and they decode as the same PNG', async () => {
    sim.setKnobs({ volcengineImages: 'base64' });
    const c = volc();
    const task = await c.submit({ prompt: 'a lighthouse', seed: 3 });
    const st = await c.status(task);
    expect(st.state === 'done' && 'base64' in st.images[0]).toBe(true);
    if (st.state !== 'done' || !('base64' in st.images[0])) return;
    const bytes = Buffer.from(st.images[0].base64, 'base64');
    expect(PNG.sync.read(bytes).width).toBe(128);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(sim.stats().served[task.taskId]);
  });

  it('keeps req_key with the task: querying with another req_key finds nothing', async () => {
    const c = volc();
    const task = await c.submit({ prompt: 'x', model: 'high_aes_general_v21_L' });
    expect(task.model).toBe('high_aes_general_v21_L');
    expect((await c.status(task)).state).toBe('done');
    expect((await errorOf(c.status({ ...task, model: 'jimeng_t2i_v40' }))).type).toBe('TaskGone');
  });

  it('draws the same again after a reset (the bench compares runs on the same latencies)', async () => {
    sim.setKnobs({ latencyMs: { dist: 'uniform', min: 0, max: 10 } });
    const c = volc();
    // Task ids advance by a random step per submission, drawn from the same seeded sequence as the latencies.
    const idSteps = async () => {
      const ids: bigint[] = [];
      for (const prompt of ['a', 'b', 'c', 'd', 'e']) ids.push(BigInt((await c.submit({ prompt })).taskId));
      return ids.slice(1).map((id, i) => id - ids[i]);
    };
    sim.reset();
    const first = await idSteps();
    sim.reset();
    expect(await idSteps()).toEqual(first);
  });

  it('classifies a retryable output rejection (50511) as OutputRejected', async () => {
    sim.setKnobs({ outputReject: 1 });
    const c = volc();
    const task = await c.submit({ prompt: 'x' });
    const err = await errorOf(c.status(task));
    expect(err.type).toBe('OutputRejected');
    expect(err.details.code).toBe(50511);
  });
});

describe('dashscope specifics', () => {
  it('always asks for one image, whatever params say', async () => {
    const body = buildDashscopeBody({ prompt: 'x', width: 1024, height: 768, params: { n: 4, watermark: false } });
    expect(body.parameters).toEqual({ n: 1, size: '1024*768', watermark: false });
  });

  it('sends X-DashScope-Async: a synchronous create is refused', async () => {
    const res = await request(`${sim.url}/api/v1/services/aigc/text2image/image-synthesis`, {
      method: 'POST',
      headers: { Authorization: 'Bearer sk-simulator', 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'wanx-v1', input: { prompt: 'x' } }),
    });
    expect(res.statusCode).toBe(403);
    expect(((await res.body.json()) as { code: string }).code).toBe('AccessDenied');
  });
});

// The fal.ai queue client against the simulator over loopback: submit, status, result, cancel, and each error class.
import { describe, expect, it } from 'vitest';
import { buildFalInput, FalClient, falAppId } from '../../src/providers/fal/client';
import { errorOf, pngOf, sha256, useSimulator } from './simulator-fixture';

const sim = useSimulator();
const fal = (apiKey = 'fal-simulator') => new FalClient({ queueUrl: `${sim().url}/fal`, apiKey, timeoutMs: 2000 });

describe('fal client', () => {
  it('submits, sees the request queued, then completed with a real PNG', async () => {
    sim().setKnobs({ latencyMs: 60_000, queueShare: 1 });
    const c = fal();
    const waiting = await c.submit({ prompt: 'a red fox', width: 512, height: 768, seed: 7 });
    expect(waiting.model).toBe('fal-ai/flux/schnell');
    expect(await c.status(waiting)).toEqual({ state: 'pending' });

    sim().setKnobs({ latencyMs: 0 });
    const task = await c.submit({ prompt: 'a red fox', width: 512, height: 768, seed: 7 });
    const st = await c.status(task);
    if (st.state !== 'done') throw new Error(`not done: ${st.state}`);
    expect('url' in st.images[0]).toBe(true);
    const bytes = await pngOf(st.images[0], [64, 96]);
    const stats = sim().stats();
    expect(sha256(bytes)).toBe(stats.served[task.taskId]);
    expect(stats.seedsByPrompt['a red fox']).toEqual([7, 7]);
    expect(stats.byProvider.fal.submissions).toBe(2);
    // The submit went out with fal's own retries switched off.
    expect(stats.requestsByOutcome['fal-retries-left-on']).toBeUndefined();
  });

  it('reports a request that is generating as running', async () => {
    sim().setKnobs({ latencyMs: 60_000, queueShare: 0 });
    const c = fal();
    expect(await c.status(await c.submit({ prompt: 'x' }))).toEqual({ state: 'running' });
  });

  it('queues requests over the concurrency limit instead of refusing them', async () => {
    sim().setKnobs({ latencyMs: 60_000, queueShare: 0, concurrencyLimit: 1 });
    const c = fal();
    const first = await c.submit({ prompt: 'a' });
    const second = await c.submit({ prompt: 'b' });
    expect((await c.status(first)).state).toBe('running');
    expect((await c.status(second)).state).toBe('pending');
    expect(sim().stats().refusedSubmissions).toBe(0);
  });

  it('polls a model without a sub-path at its own id, and one with a sub-path at owner/app', async () => {
    const c = fal();
    const plain = await c.submit({ prompt: 'x', model: 'fal-ai/fast-sdxl' });
    expect((await c.status(plain)).state).toBe('done');
    expect(falAppId('fal-ai/flux-pro/v1.1-ultra')).toBe('fal-ai/flux-pro');
    // The same request id under another app is not found.
    expect((await errorOf(c.status({ ...plain, model: 'fal-ai/other' }))).type).toBe('TaskGone');
  });

  it('classifies moderation at submit (422 content_policy_violation) as ContentRejected', async () => {
    const err = await errorOf(fal().submit({ prompt: 'a gore scene' }));
    expect(err.type).toBe('ContentRejected');
    expect(err.details).toMatchObject({ code: 'content_policy_violation', httpStatus: 422 });
    expect(sim().stats().byProvider.fal.refusedSubmissions).toBe(1);
  });

  it('classifies moderation at result (422 from the result URL) as ContentRejected', async () => {
    sim().setKnobs({ moderationAt: 'result' });
    const c = fal();
    const st = await c.status(await c.submit({ prompt: 'a gore scene' }));
    expect(st.state === 'failed' && st.error.type).toBe('ContentRejected');
  });

  it('classifies a flagged output (has_nsfw_concepts: [true]) as ContentRejected', async () => {
    sim().setKnobs({ moderationAt: 'result', falModeration: 'has_nsfw_concepts' });
    const c = fal();
    const st = await c.status(await c.submit({ prompt: 'a gore scene' }));
    expect(st.state === 'failed' && st.error.type).toBe('ContentRejected');
    expect(st.state === 'failed' && st.error.message).toContain('has_nsfw_concepts');
  });

  it('classifies 429 as RateLimited with its retry-after, and 5xx as Transient', async () => {
    sim().setKnobs({ fail429: 1 });
    const limited = await errorOf(fal().submit({ prompt: 'x' }));
    expect(limited.type).toBe('RateLimited');
    expect(limited.details.retryAfterMs).toBe(1000);
    sim().setKnobs({ fail429: 0, fail5xx: 1 });
    expect((await errorOf(fal().submit({ prompt: 'x' }))).type).toBe('Transient');
  });

  it('classifies a wrong key as AuthFailed, and a missing one without a request', async () => {
    expect((await errorOf(fal('wrong').submit({ prompt: 'x' }))).type).toBe('AuthFailed');
    expect((await errorOf(fal('').submit({ prompt: 'x' }))).type).toBe('AuthFailed');
    expect(sim().stats().byProvider.fal.requestsByOutcome).toEqual({ 'auth-failed': 1 });
  });

  it('refuses a model that is not an app id before sending anything', async () => {
    expect((await errorOf(fal().submit({ prompt: 'x', model: '../admin' }))).type).toBe('InvalidRequest');
    expect((await errorOf(fal().submit({ prompt: 'x', model: 'flux' }))).type).toBe('InvalidRequest');
    expect(sim().stats().requestsByOutcome).toEqual({});
  });

  it('cancels a queued request; a cancelled or unknown request is gone; cancelling again is harmless', async () => {
    sim().setKnobs({ latencyMs: 60_000, queueShare: 1 });
    const c = fal();
    const task = await c.submit({ prompt: 'x' });
    await c.cancel(task);
    const stats = sim().stats();
    expect(stats.cancelledTaskIds).toEqual([task.taskId]);
    expect(stats.byProvider.fal.cancels).toBe(1);
    expect((await errorOf(c.status(task))).type).toBe('TaskGone');
    await c.cancel(task);
    await c.cancel({ taskId: 'no-such-request', model: task.model });
    expect((await errorOf(c.status({ taskId: 'no-such-request', model: task.model }))).type).toBe('TaskGone');
  });

  it('cancelling a completed request changes nothing (ALREADY_COMPLETED)', async () => {
    const c = fal();
    const task = await c.submit({ prompt: 'x' });
    await c.cancel(task);
    expect(sim().stats().cancels).toBe(0);
    expect((await c.status(task)).state).toBe('done');
  });

  it('builds the input: image_size as width and height, one image, params that do not override', () => {
    const input = buildFalInput({
      prompt: 'p',
      negativePrompt: 'n',
      seed: -1,
      width: 640,
      height: 480,
      referenceImages: [{ base64: 'AAAA', mime: 'image/jpeg' }],
      params: { num_inference_steps: 4, num_images: 4, prompt: 'other', enable_safety_checker: true },
    });
    expect(input).toEqual({
      prompt: 'p',
      negative_prompt: 'n',
      num_images: 1,
      image_size: { width: 640, height: 480 },
      image_url: 'data:image/jpeg;base64,AAAA',
      num_inference_steps: 4,
      enable_safety_checker: true,
    });
  });
});

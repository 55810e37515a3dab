// The OpenAI-compatible Images client against the simulator over loopback: one synchronous call per image.
import { describe, expect, it } from 'vitest';
import { buildOpenaiBody, OpenaiClient } from '../../src/providers/openai/client';
import { openaiHttpError } from '../../src/providers/openai/errors';
import { errorOf, pngOf, sha256, useSimulator } from './simulator-fixture';

const sim = useSimulator();
const openai = (apiKey = 'sk-openai-simulator', timeoutMs?: number) =>
  new OpenaiClient({ baseUrl: `${sim().url}/v1`, apiKey, timeoutMs });

describe('openai client', () => {
  it('generates a real PNG, as b64_json by default', async () => {
    sim().setKnobs({ latencyMs: 200 });
    const out = await openai().generate({ prompt: 'a lighthouse', width: 1024, height: 1536 });
    expect(out.model).toBe('gpt-image-1');
    expect('base64' in out.images[0]).toBe(true);
    const bytes = await pngOf(out.images[0], [128, 192]);
    const stats = sim().stats();
    // One call that returned once the generation had ended: the task is no longer in flight, its image served.
    expect(stats.inFlight).toBe(0);
    expect(Object.values(stats.served)).toEqual([sha256(bytes)]);
    expect(stats.byProvider.openai).toMatchObject({ submissions: 1, refusedSubmissions: 0 });
  });

  it('takes an image URL when the API answers with one (response_format url, DALL-E and Ark)', async () => {
    const out = await openai().generate({ prompt: 'x', model: 'dall-e-3', params: { response_format: 'url' } });
    expect(out.model).toBe('dall-e-3');
    expect('url' in out.images[0]).toBe(true);
    await pngOf(out.images[0], [128, 128]);
  });

  it('classifies moderation_blocked as ContentRejected, at once or after the generation', async () => {
    const early = await errorOf(openai().generate({ prompt: 'a gore scene' }));
    expect(early.type).toBe('ContentRejected');
    expect(early.details).toMatchObject({ code: 'moderation_blocked', httpStatus: 400 });
    sim().setKnobs({ moderationAt: 'result', latencyMs: 100 });
    expect((await errorOf(openai().generate({ prompt: 'a gore scene' }))).type).toBe('ContentRejected');
    expect(sim().stats().byProvider.openai.submissions).toBe(1);
  });

  it('classifies 429 and the concurrency limit as RateLimited with the retry-after', async () => {
    sim().setKnobs({ fail429: 1 });
    const limited = await errorOf(openai().generate({ prompt: 'x' }));
    expect(limited).toMatchObject({
      type: 'RateLimited',
      details: { code: 'rate_limit_exceeded', retryAfterMs: 1000 },
    });

    sim().setKnobs({ fail429: 0, concurrencyLimit: 1, latencyMs: 30_000 });
    const first = new AbortController();
    const running = openai().generate({ prompt: 'first' }, first.signal);
    // The first call holds the one slot (its task is in flight) while the second is made.
    await expect.poll(() => sim().stats().inFlight).toBe(1);
    const over = await errorOf(openai().generate({ prompt: 'second' }));
    expect(over).toMatchObject({ type: 'RateLimited', details: { retryAfterMs: 1000 } });
    first.abort();
    await expect(running).rejects.toThrow(/abort/i);
  });

  it('classifies 5xx and a timeout as Transient', async () => {
    sim().setKnobs({ fail5xx: 1 });
    expect((await errorOf(openai().generate({ prompt: 'x' }))).type).toBe('Transient');
    sim().setKnobs({ fail5xx: 0, latencyMs: 5000 });
    expect((await errorOf(openai('sk-openai-simulator', 300).generate({ prompt: 'x' }))).type).toBe('Transient');
  });

  it('classifies a wrong key as AuthFailed, and a missing one without a request', async () => {
    const bad = await errorOf(openai('sk-wrong').generate({ prompt: 'x' }));
    expect(bad).toMatchObject({ type: 'AuthFailed', details: { code: 'invalid_api_key', httpStatus: 401 } });
    expect((await errorOf(openai('').generate({ prompt: 'x' }))).type).toBe('AuthFailed');
    expect(sim().stats().requestsByOutcome).toEqual({ 'auth-failed': 1 });
  });

  it('classifies a request the API refuses as InvalidRequest', async () => {
    const err = await errorOf(openai().generate({ prompt: 'x', params: { size: 'huge' } }));
    expect(err).toMatchObject({ type: 'InvalidRequest', details: { httpStatus: 400 } });
  });

  it('cancels by abandoning the call: the caller gets an abort, the provider sees the client go', async () => {
    sim().setKnobs({ latencyMs: 30_000 });
    const abort = new AbortController();
    const call = openai().generate({ prompt: 'x' }, abort.signal);
    // Aborted once the provider has the call: its task is in flight.
    await expect.poll(() => sim().stats().inFlight).toBe(1);
    abort.abort();
    await expect(call).rejects.toThrow(/abort/i);
    await expect.poll(() => sim().stats().byProvider.openai.cancels).toBe(1);
    expect(sim().stats().inFlight).toBe(0);
  });

  it('sends one image at the item size, and params never override model, prompt or n', () => {
    const body = buildOpenaiBody({
      prompt: 'p',
      width: 1536,
      height: 1024,
      seed: 5,
      params: { model: 'm', prompt: 'q', n: 4, quality: 'high', size: 'auto' },
    });
    expect(body).toEqual({ model: 'gpt-image-1', prompt: 'p', n: 1, size: '1536x1024', quality: 'high' });
    expect(buildOpenaiBody({ prompt: 'p', params: { size: '2K', seed: 3 } })).toMatchObject({ size: '2K', seed: 3 });
  });

  it('knows the codes of compatible APIs: a spent quota is AuthFailed, Ark moderation is ContentRejected', () => {
    const res = (status: number, code: string) => ({
      status,
      headers: {},
      json: { error: { code, message: 'm' } },
      text: '',
    });
    expect(openaiHttpError(res(429, 'insufficient_quota'))?.type).toBe('AuthFailed');
    expect(openaiHttpError(res(400, 'OutputImageSensitiveContentDetected'))?.type).toBe('ContentRejected');
    expect(openaiHttpError(res(404, 'model_not_found'))?.type).toBe('InvalidRequest');
    expect(openaiHttpError(res(503, 'ServerOverloaded'))?.type).toBe('Transient');
  });
});

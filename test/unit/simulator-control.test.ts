// The simulator's HTTP control and what it advertises: POST /__knobs changes only the knobs it names, and image links
// use the public URL it is given (a container listening on 0.0.0.0 is reached by its service name).
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { providersFromEnv, taskClient } from '../../src/providers';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';

let sim: ProviderSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function post(path: string, body: string) {
  const res = await request(`${sim!.url}${path}`, { method: 'POST', body });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

describe('POST /__knobs', () => {
  it('changes the knobs it names and keeps the others', async () => {
    sim = await startSimulator({ latencyMs: 1234, moderationWords: ['dragon'], fail5xx: 0.1 });
    const r = await post('/__knobs', JSON.stringify({ fail429: 0.5 }));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ latencyMs: 1234, moderationWords: ['dragon'], fail5xx: 0.1, fail429: 0.5 });
    expect(sim.getKnobs()).toMatchObject({ latencyMs: 1234, fail429: 0.5 });
  });

  it.each([
    ['an unknown knob', JSON.stringify({ nope: 1 })],
    ['a bad value', JSON.stringify({ fail429: 2 })],
    ['a body that is not JSON', '{'],
    ['a body that is not an object', '[1]'],
  ])('refuses %s with 400 and changes nothing', async (_what, body) => {
    sim = await startSimulator({ latencyMs: 1234 });
    const before = sim.getKnobs();
    const r = await post('/__knobs', body);
    expect(r.status).toBe(400);
    expect(sim.getKnobs()).toEqual(before);
  });
});

describe('the public URL', () => {
  it('is where image links and the printed environment point, while it listens elsewhere', async () => {
    sim = await startSimulator({ latencyMs: 0, volcengineImages: 'url' }, 0, '127.0.0.1', {
      publicUrl: 'http://simulator:8787/',
    });
    expect(sim.env().VOLCENGINE_VISUAL_ENDPOINT).toBe('http://simulator:8787');
    expect(sim.env().DASHSCOPE_HTTP_BASE_URL).toBe('http://simulator:8787/api/v1');
    // The client talks to where it listens; the image link it gets back names the public URL.
    const volcengine = taskClient(
      providersFromEnv({ ...sim.env(), VOLCENGINE_VISUAL_ENDPOINT: sim.url }),
      'volcengine',
    );
    const task = await volcengine.submit({ prompt: 'a lighthouse' });
    await expect.poll(async () => (await volcengine.status(task)).state).toBe('done');
    const status = await volcengine.status(task);
    const ref = status.state === 'done' ? status.images[0] : undefined;
    expect(ref && 'url' in ref && ref.url).toMatch(/^http:\/\/simulator:8787\/images\//);
  });
});

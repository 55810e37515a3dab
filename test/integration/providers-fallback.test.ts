// Fallback between providers on the real dev server, over real HTTP: fal is served by a simulator of its own whose
// knobs (429s, moderation) touch no other provider, or is down (a closed port); DashScope and the rest by another.
// An item moves to the next provider only when the current one cannot serve it, and its result and manifest entry
// name every provider tried and why. A batch may also mix providers item by item.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readManifest as readManifestFile } from '../../src/output/manifest';
import type { KnobsInput } from '../../src/providers/simulator/knobs';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import type { ProviderCounts } from '../../src/providers/simulator/stats';
import type { ProviderKind } from '../../src/shared/providers';
import type { ImageItem } from '../../src/shared/types';
import { makeItems, readManifest, startTestBatch } from '../helpers/batch';
import { FAST_POLICY } from '../helpers/image-env';
import { closedPort, type ProviderWorkers, simulatorEnv, startProviderWorkers } from '../helpers/provider-workers';
import { cliEnv, runCli } from '../helpers/cli';
import { jsonl } from '../helpers/items-fixture';
import { closeConnections } from '../helpers/temporal';
import { knobsFrom } from '../helpers/simulator-knobs';

const QUIET: KnobsInput = {
  latencyMs: 200,
  moderationWords: [],
  moderationAt: 'submit',
  fail429: 0,
  faultsOn: 'all',
  concurrencyLimit: 0,
};

/** Everything but fal. */
let sim: ProviderSimulator;
/** fal alone. */
let falSim: ProviderSimulator;
let env: ProviderWorkers | undefined;
let n = 0;

beforeAll(async () => {
  sim = await startSimulator(QUIET);
  falSim = await startSimulator(QUIET);
});
afterAll(async () => {
  await sim?.close();
  await falSim?.close();
  await closeConnections();
});
beforeEach(() => {
  for (const s of [sim, falSim]) {
    s.setKnobs(knobsFrom(QUIET));
    s.reset();
  }
});
// Each test has its own workers and task queue, so its provider accounts (per queue) start fresh.
afterEach(async () => {
  await env?.stop();
  env = undefined;
});

/** Workers whose fal requests go to the fal simulator and the rest to the main one, unless `overrides` say otherwise. */
async function workers(overrides: Record<string, string> = {}): Promise<ProviderWorkers> {
  env = await startProviderWorkers({ ...simulatorEnv(sim), FAL_QUEUE_URL: `${falSim.url}/fal`, ...overrides });
  return env;
}

const counts = (s: ProviderSimulator, p: ProviderKind): ProviderCounts =>
  s.stats().byProvider[p] ?? {
    submissions: 0,
    refusedSubmissions: 0,
    maxInFlight: 0,
    cancels: 0,
    requestsByOutcome: {},
  };

const id = (what: string) => `${what}-${process.pid}-${++n}`;

/** fal first, DashScope when fal cannot serve the item; a short max wait, so a limit or outage is given up soon. */
const FALLBACK = {
  provider: 'fal' as const,
  providers: ['fal', 'dashscope'] as ProviderKind[],
  policy: { ...FAST_POLICY, maxWaitMs: 3000 },
};

describe('fallback between providers', () => {
  it('moves every item from a rate-limited fal to DashScope, naming fal and why', async () => {
    const target = await workers();
    falSim.setKnobs({ fail429: 1, faultsOn: 'submit' });
    const items = makeItems(3, 'limited');
    const { handle, outDir } = await startTestBatch(target, id('fb-429'), items, FALLBACK);
    expect(await handle.result()).toMatchObject({ total: 3, succeeded: 3, failed: 0, cancelled: 0 });

    const m = readManifest(outDir);
    expect(m.items).toHaveLength(3);
    for (const e of m.items) {
      expect(e).toMatchObject({ status: 'succeeded', provider: 'dashscope', attempts: 1 });
      expect(e.tried).toEqual([
        {
          provider: 'fal',
          errorType: 'RateLimited',
          reason: expect.stringMatching(/^rate limited for longer than the max wait \(3000 ms\)/),
        },
        { provider: 'dashscope' },
      ]);
    }
    // fal refused every submit (429 with retry-after) and made nothing; DashScope made each image once.
    expect(counts(falSim, 'fal').refusedSubmissions).toBeGreaterThanOrEqual(3);
    expect(counts(falSim, 'fal').requestsByOutcome['429']).toBe(counts(falSim, 'fal').refusedSubmissions);
    expect(counts(falSim, 'fal').submissions).toBe(0);
    expect(counts(sim, 'dashscope').submissions).toBe(3);
    expect(counts(sim, 'fal').submissions).toBe(0);
    for (const it of items) expect(sim.stats().submissionsByPrompt[it.prompt]).toBe(1);
  });

  it("follows an item's own provider list, whatever the batch's provider", async () => {
    const target = await workers();
    falSim.setKnobs({ fail429: 1, faultsOn: 'submit' });
    const items: ImageItem[] = [
      { id: 'listed', prompt: 'a kite over dunes', provider: ['fal', 'dashscope'] },
      { id: 'plain', prompt: 'a boat in fog' },
    ];
    const { handle, outDir } = await startTestBatch(target, id('fb-item'), items, {
      provider: 'comfyui',
      policy: FALLBACK.policy,
    });
    expect(await handle.result()).toMatchObject({ total: 2, succeeded: 2, failed: 0 });
    const [listed, plain] = readManifest(outDir).items;
    expect(listed).toMatchObject({ id: 'listed', status: 'succeeded', provider: 'dashscope' });
    expect(listed.tried?.map((t) => [t.provider, t.errorType])).toEqual([
      ['fal', 'RateLimited'],
      ['dashscope', undefined],
    ]);
    expect(plain).toMatchObject({ id: 'plain', status: 'succeeded', provider: 'comfyui' });
    expect(plain.tried).toBeUndefined();
    expect(counts(sim, 'dashscope').submissions).toBe(1);
    expect(counts(sim, 'comfyui').submissions).toBe(1);
    expect(counts(falSim, 'fal').submissions).toBe(0);
  });

  it('moves an item from a fal that is down (nothing listens) to DashScope once the max wait has passed', async () => {
    const target = await workers({ FAL_QUEUE_URL: `http://127.0.0.1:${await closedPort()}/fal` });
    const { handle, outDir } = await startTestBatch(target, id('fb-down'), makeItems(2, 'down'), FALLBACK);
    expect(await handle.result()).toMatchObject({ total: 2, succeeded: 2, failed: 0 });
    const entries = readManifest(outDir).items;
    expect(entries).toHaveLength(2);
    for (const e of entries) {
      expect(e).toMatchObject({ status: 'succeeded', provider: 'dashscope' });
      expect(e.tried).toHaveLength(2);
      expect(e.tried![0]).toMatchObject({ provider: 'fal', errorType: 'MaxWaitExceeded' });
      expect(e.tried![0].reason).toMatch(/^no result within the max wait \(last error: .*ECONNREFUSED/);
      expect(e.tried![1]).toEqual({ provider: 'dashscope' });
    }
    expect(counts(sim, 'dashscope').submissions).toBe(2);
  });

  it('moves an item on at once when fal refuses the credentials', async () => {
    const target = await workers({ FAL_KEY: 'not-the-key' });
    const { handle, outDir } = await startTestBatch(target, id('fb-auth'), makeItems(2, 'auth'), FALLBACK);
    expect(await handle.result()).toMatchObject({ total: 2, succeeded: 2, failed: 0 });
    const entries = readManifest(outDir).items;
    expect(entries).toHaveLength(2);
    for (const e of entries) {
      expect(e).toMatchObject({ status: 'succeeded', provider: 'dashscope', attempts: 1 });
      expect(e.tried).toEqual([
        { provider: 'fal', errorType: 'AuthFailed', reason: expect.stringMatching(/HTTP 401/) },
        { provider: 'dashscope' },
      ]);
    }
    // One refused submit per item: an auth failure is not retried.
    expect(counts(falSim, 'fal').requestsByOutcome['auth-failed']).toBe(2);
    expect(counts(sim, 'dashscope').submissions).toBe(2);
  });

  it('moves an item on once its retries on fal are spent (every fal task expires)', async () => {
    const target = await workers();
    falSim.setKnobs({ expireFirst: 10 });
    const items = makeItems(2, 'expiring');
    const { handle, outDir } = await startTestBatch(target, id('fb-retries'), items, {
      ...FALLBACK,
      policy: { ...FAST_POLICY, retries: 1 },
    });
    expect(await handle.result()).toMatchObject({ total: 2, succeeded: 2, failed: 0 });
    const entries = readManifest(outDir).items;
    expect(entries).toHaveLength(2);
    for (const e of entries) {
      expect(e).toMatchObject({ status: 'succeeded', provider: 'dashscope' });
      expect(e.tried).toEqual([
        { provider: 'fal', errorType: 'TaskGone', reason: expect.stringMatching(/Request not found/) },
        { provider: 'dashscope' },
      ]);
    }
    // The first submission and one retry on fal, then DashScope's one.
    for (const it of items) {
      expect(falSim.stats().submissionsByPrompt[it.prompt]).toBe(2);
      expect(sim.stats().submissionsByPrompt[it.prompt]).toBe(1);
    }
  });

  it('does not fall back on an invalid request', async () => {
    const target = await workers();
    // Not a fal app id (owner/app): fal cannot take it, and neither could another provider take a wrong request.
    const items: ImageItem[] = [{ id: 'bad', prompt: 'a lighthouse at night', model: 'flux' }];
    const { handle, outDir } = await startTestBatch(target, id('fb-invalid'), items, FALLBACK);
    expect(await handle.result()).toMatchObject({ total: 1, succeeded: 0, failed: 1 });
    const [e] = readManifest(outDir).items;
    expect(e).toMatchObject({ status: 'failed', provider: 'fal', errorType: 'InvalidRequest' });
    expect(e.error).toMatch(/flux/);
    expect(e.tried).toBeUndefined();
    expect(counts(sim, 'dashscope').submissions + counts(sim, 'dashscope').refusedSubmissions).toBe(0);
  });

  it('falls back on moderation only with fallbackOnModeration', async () => {
    const target = await workers();
    falSim.setKnobs({ moderationWords: ['dragon'] });
    const prompt = 'a dragon over a castle, at night, in the rain';
    const simplified = [prompt, 'a dragon over a castle, at night', 'a dragon over a castle'];

    // Without it: fal's refusal (after simplification could not help) fails the item there.
    const without = await startTestBatch(target, id('fb-mod-no'), [{ id: 'd', prompt }], FALLBACK);
    expect(await without.handle.result()).toMatchObject({ succeeded: 0, failed: 1 });
    const [failed] = readManifest(without.outDir).items;
    expect(failed).toMatchObject({ status: 'failed', provider: 'fal', errorType: 'ContentRejected' });
    expect(failed.prompts).toEqual(simplified);
    expect(failed.error).toMatch(/moderation rejected the prompt and simplification could not help/);
    expect(failed.tried).toBeUndefined();
    expect(counts(sim, 'dashscope').submissions).toBe(0);

    // With it: DashScope gets the prompt as written and makes the image.
    const withIt = await startTestBatch(target, id('fb-mod-yes'), [{ id: 'd', prompt }], {
      ...FALLBACK,
      fallbackOnModeration: true,
    });
    expect(await withIt.handle.result()).toMatchObject({ succeeded: 1, failed: 0 });
    const [moved] = readManifest(withIt.outDir).items;
    expect(moved).toMatchObject({ status: 'succeeded', provider: 'dashscope' });
    expect(moved.prompts).toEqual([...simplified, prompt]);
    expect(moved.tried).toEqual([
      { provider: 'fal', errorType: 'ContentRejected', reason: expect.stringMatching(/content_policy_violation/) },
      { provider: 'dashscope' },
    ]);
    expect(sim.stats().submissionsByPrompt[prompt]).toBe(1);
    expect(counts(falSim, 'fal').refusedSubmissions).toBe(6);
  });
});

describe('imagebatch run --provider fal,dashscope', () => {
  it('runs the batch with fal first and moves its items to DashScope while fal answers 429', async () => {
    falSim.setKnobs({ fail429: 1, faultsOn: 'submit' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-fallback-cli-'));
    const itemsFile = path.join(dir, 'items.jsonl');
    fs.writeFileSync(itemsFile, jsonl({ id: 'a', prompt: 'a red kite' }, { id: 'b', prompt: 'a blue boat' }));
    const out = path.join(dir, 'out');
    const env = cliEnv({ ...simulatorEnv(sim), FAL_QUEUE_URL: `${falSim.url}/fal`, IMAGEBATCH_LOG_LEVEL: 'WARN' });
    const r = await runCli(
      [
        'run',
        itemsFile,
        '--out',
        out,
        '--provider',
        'fal,dashscope',
        '--max-wait',
        '3',
        '--poll-interval',
        '0.2',
        '--json',
      ],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { counts: Record<string, number>; manifest: string };
    expect(doc.counts).toMatchObject({ succeeded: 2, failed: 0 });
    const m = readManifestFile(path.dirname(doc.manifest))!;
    expect(m.items.map((e) => e.id)).toEqual(['a', 'b']);
    for (const e of m.items) {
      expect(e).toMatchObject({ status: 'succeeded', provider: 'dashscope' });
      expect(e.tried).toEqual([
        {
          provider: 'fal',
          errorType: 'RateLimited',
          reason: expect.stringMatching(/^rate limited for longer than the max wait/),
        },
        { provider: 'dashscope' },
      ]);
    }
    expect(counts(falSim, 'fal').refusedSubmissions).toBeGreaterThanOrEqual(2);
    expect(counts(falSim, 'fal').submissions).toBe(0);
    expect(counts(sim, 'dashscope').submissions).toBe(2);
  });
});

describe('a batch mixing providers item by item', () => {
  it('makes each item with its own provider, each counted under it by the simulator', async () => {
    const target = await workers({ FAL_QUEUE_URL: `${sim.url}/fal` });
    const on: ProviderKind[] = ['volcengine', 'fal', 'comfyui'];
    const items = on.flatMap((provider) => makeItems(2, `mixed-${provider}`, () => ({ provider })));
    const { handle, outDir } = await startTestBatch(target, id('mixed'), items, { provider: 'dashscope' });
    expect(await handle.result()).toMatchObject({ total: 6, succeeded: 6, failed: 0 });
    const m = readManifest(outDir);
    expect(m.items.map((e) => e.id)).toEqual(items.map((i) => i.id));
    for (const e of m.items) {
      expect(e.status).toBe('succeeded');
      expect(e.provider).toBe(items.find((i) => i.id === e.id)!.provider);
      expect(e.tried).toBeUndefined();
      expect(sim.stats().served[e.providerTaskId!]).toBeDefined();
    }
    for (const p of on) expect(counts(sim, p).submissions).toBe(2);
    // The batch's own provider made nothing: every item named another.
    expect(counts(sim, 'dashscope').submissions).toBe(0);
  });
});

// fal, OpenAI-compatible Images and ComfyUI batches on the real dev server, against the simulator over real HTTP:
// moderation rescued by simplification and not, 429s with retry-after ridden out, and a running batch cancelled.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { progressQuery, cancelUpdate } from '../../src/shared/messages';
import type { KnobsInput } from '../../src/providers/simulator/knobs';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import type { ProviderCounts } from '../../src/providers/simulator/stats';
import type { ProviderKind } from '../../src/shared/providers';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isBatchFile } from '../../src/output/batch-folder';
import { withoutPngMetadata } from '../../src/output/png-metadata';
import type { Manifest } from '../../src/output/manifest';
import { makeItems, readManifest, startTestBatch } from '../helpers/batch';
import { FAST_POLICY, walk, waitFor } from '../helpers/image-env';
import { type ProviderWorkers, simulatorEnv, startProviderWorkers } from '../helpers/provider-workers';
import { closeConnections } from '../helpers/temporal';
import { knobsFrom } from '../helpers/simulator-knobs';

const BASE: KnobsInput = {
  latencyMs: 200,
  queueShare: 0.2,
  moderationWords: ['bloody'],
  moderationAt: 'submit',
  falModeration: 'content_policy_violation',
  fail5xx: 0,
  fail429: 0,
  slow: 0,
  hang: 0,
  malformed: 0,
  faultsOn: 'all',
  expire: 0,
  expireFirst: 0,
  concurrencyLimit: 0,
};

let sim: ProviderSimulator;
let env: ProviderWorkers;
let n = 0;

beforeAll(async () => {
  sim = await startSimulator(BASE);
});
afterAll(async () => {
  await sim?.close();
  await closeConnections();
});
// Workers on a new task queue for each test: provider accounts are per queue, so a limit one test taught an account
// (429s lower it) or slots a failed test left held do not reach the next test.
beforeEach(async () => {
  sim.setKnobs(knobsFrom(BASE));
  sim.reset();
  env = await startProviderWorkers(simulatorEnv(sim));
});
afterEach(async () => {
  await env?.stop();
});

const counts = (p: ProviderKind): ProviderCounts =>
  sim.stats().byProvider[p] ?? {
    submissions: 0,
    refusedSubmissions: 0,
    maxInFlight: 0,
    cancels: 0,
    requestsByOutcome: {},
  };

/**
 * The succeeded items' files are the only files in the batch folder, each with the sha256 its manifest entry names,
 * and, without imagebatch's metadata chunks, the very bytes the simulator served for its task (an OpenAI image has no
 * task id: its bytes are looked for among everything served).
 */
function expectIntact(outDir: string): Manifest {
  const m = readManifest(outDir);
  const served = sim.stats().served;
  const files = walk(outDir).filter((f) => !isBatchFile(f));
  const succeeded = m.items.filter((e) => e.status === 'succeeded');
  expect(files.sort()).toEqual(succeeded.map((e) => e.file!).sort());
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  for (const e of succeeded) {
    const data = fs.readFileSync(path.join(outDir, e.file!));
    expect(sha(data)).toBe(e.sha256);
    const providerBytes = sha(withoutPngMetadata(data));
    if (e.providerTaskId) expect(served[e.providerTaskId]).toBe(providerBytes);
    else expect(Object.values(served)).toContain(providerBytes);
  }
  return m;
}

const batchId = (what: string, p: ProviderKind) => `${what}-${p}-${process.pid}-${++n}`;

const ASYNC = ['fal', 'comfyui'] as const;
const ALL = ['fal', 'openai', 'comfyui'] as const;
/** ComfyUI has no moderation (a self-hosted server runs what it is given): the simulator models it so. */
const MODERATED = ['fal', 'openai'] as const;

describe.each(ALL)('%s', (provider) => {
  it('makes every image of a batch, each once', async () => {
    const { handle, outDir } = await startTestBatch(env, batchId('happy', provider), makeItems(4, 'happy'), {
      provider,
    });
    expect(await handle.result()).toMatchObject({ total: 4, succeeded: 4, failed: 0, cancelled: 0 });
    const m = expectIntact(outDir);
    expect(m.items).toHaveLength(4);
    for (const e of m.items) expect(e).toMatchObject({ status: 'succeeded', provider, attempts: 1 });
    expect(counts(provider).submissions).toBe(4);
    // Nothing went to another wire format.
    for (const other of ALL) if (other !== provider) expect(counts(other).submissions).toBe(0);
  });

  it('makes an image of a moderation-looking prompt as written only where there is moderation', async () => {
    const prompt = 'a bloody battlefield at dawn, soldiers';
    const { handle, outDir } = await startTestBatch(env, batchId('mod', provider), [{ id: 'm', prompt }], {
      provider,
    });
    const summary = await handle.result();
    const [e] = readManifest(outDir).items;
    if ((MODERATED as readonly string[]).includes(provider)) {
      // Rescued: the keyword is stripped and the simpler prompt passes; the original was refused at submit.
      expect(summary).toMatchObject({ succeeded: 1, failed: 0 });
      expect(e).toMatchObject({ status: 'succeeded', provider, attempts: 2 });
      expect(e.prompts).toEqual([prompt, 'a battlefield at dawn, soldiers']);
      expect(counts(provider).refusedSubmissions).toBe(1);
      expect(counts(provider).requestsByOutcome.moderated).toBe(1);
      expect(sim.stats().submissionsByPrompt[prompt]).toBeUndefined();
    } else {
      expect(summary).toMatchObject({ succeeded: 1, failed: 0 });
      expect(e).toMatchObject({ status: 'succeeded', provider, attempts: 1, prompts: [prompt] });
      expect(counts(provider).refusedSubmissions).toBe(0);
    }
    expect(counts(provider).submissions).toBe(1);
  });

  it('rides out 429s with retry-after: every item succeeds, each with one task', async () => {
    // Every submit is refused with 429 and Retry-After: 1 until each item has been refused at least once.
    sim.setKnobs({ fail429: 1, faultsOn: 'submit' });
    const items = makeItems(3, `limited-${provider}`);
    const { handle, outDir } = await startTestBatch(env, batchId('429', provider), items, { provider });
    await waitFor(() => counts(provider).refusedSubmissions >= 3, '3 refused submissions', 60_000);
    expect(counts(provider).submissions).toBe(0);
    sim.setKnobs({ fail429: 0 });
    expect(await handle.result()).toMatchObject({ total: 3, succeeded: 3, failed: 0 });
    const c = counts(provider);
    expect(c.requestsByOutcome['429']).toBe(c.refusedSubmissions);
    expect(c.refusedSubmissions).toBeGreaterThanOrEqual(3);
    // A refused submit made no task: one accepted submission per item.
    expect(c.submissions).toBe(3);
    for (const it of items) expect(sim.stats().submissionsByPrompt[it.prompt]).toBe(1);
    const m = expectIntact(outDir);
    expect(m.items).toHaveLength(items.length);
    for (const e of m.items) expect(e).toMatchObject({ status: 'succeeded', provider, tasks: 1 });
  });

  it('cancels a running batch: items cancelled, no image written', async () => {
    sim.setKnobs({ latencyMs: 120_000 });
    const items = makeItems(3, `cancel-${provider}`);
    const { handle, outDir } = await startTestBatch(env, batchId('cancel', provider), items, {
      provider,
      policy: { ...FAST_POLICY, maxWaitMs: 600_000 },
    });
    // Every item has its task (or, for OpenAI, its call) at the provider.
    await waitFor(() => counts(provider).submissions === 3, 'three submissions', 60_000);
    await waitFor(async () => (await handle.query(progressQuery)).running === 3, 'three running');
    expect((await handle.executeUpdate(cancelUpdate, { args: [{}] })).message).toMatch(/^cancelling the batch/);
    expect(await handle.result()).toMatchObject({ status: 'cancelled', total: 3, cancelled: 3, succeeded: 0 });
    const m = readManifest(outDir);
    expect(m.items.map((e) => e.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    if ((ASYNC as readonly string[]).includes(provider)) {
      // The provider's cancel route was called for each task.
      await waitFor(() => counts(provider).cancels === 3, "the provider's three cancels");
      // Still queued at the provider (a fifth of the latency is queueing): ComfyUI deleted them from its queue.
      if (provider === 'comfyui') expect(counts(provider).requestsByOutcome.interrupted).toBeUndefined();
      expect(sim.stats().cancelledTaskIds.sort()).toEqual(Object.keys(sim.stats().tasks).sort());
    } else {
      // OpenAI has no task to cancel: the call is abandoned, and the simulator sees the client hang up.
      await waitFor(
        () => counts(provider).requestsByOutcome['client-closed'] === 3,
        'the three calls to be abandoned',
        90_000,
      );
    }
    expect(expectIntact(outDir).items.filter((e) => e.file)).toEqual([]);
  });
});

describe('comfyui cancel', () => {
  it('interrupts the prompts that are running when the batch is cancelled', async () => {
    // No queued share: every prompt is running at once, which only /interrupt stops.
    sim.setKnobs({ latencyMs: 120_000, queueShare: 0 });
    const { handle } = await startTestBatch(env, batchId('interrupt', 'comfyui'), makeItems(2, 'interrupt'), {
      provider: 'comfyui',
      policy: { ...FAST_POLICY, maxWaitMs: 600_000 },
    });
    await waitFor(() => counts('comfyui').submissions === 2, 'two prompts running', 60_000);
    await waitFor(async () => (await handle.query(progressQuery)).running === 2, 'two running');
    await handle.executeUpdate(cancelUpdate, { args: [{}] });
    expect(await handle.result()).toMatchObject({ status: 'cancelled', cancelled: 2 });
    await waitFor(() => counts('comfyui').cancels === 2, 'two cancels');
    expect(counts('comfyui').requestsByOutcome.interrupted).toBe(2);
  });
});

describe.each(MODERATED)('%s moderation', (provider) => {
  it('rescues a prompt rejected once its task ran (at result) by simplifying it', async () => {
    sim.setKnobs({ moderationAt: 'result', falModeration: 'has_nsfw_concepts' });
    const prompt = 'a bloody sunset over the sea';
    const { handle, outDir } = await startTestBatch(env, batchId('modres', provider), [{ id: 'r', prompt }], {
      provider,
    });
    expect(await handle.result()).toMatchObject({ succeeded: 1, failed: 0 });
    const [e] = readManifest(outDir).items;
    expect(e).toMatchObject({ status: 'succeeded', provider, attempts: 2 });
    expect(e.prompts).toEqual([prompt, 'a sunset over the sea']);
    // The moderated task was accepted (and paid): two tasks.
    expect(counts(provider).submissions).toBe(2);
  });

  it('fails with the moderation reason when simplification cannot help', async () => {
    sim.setKnobs({ moderationWords: ['dragon'] });
    const prompt = 'a dragon over a castle, at night, in the rain';
    const { handle, outDir } = await startTestBatch(env, batchId('modfail', provider), [{ id: 'd', prompt }], {
      provider,
    });
    expect(await handle.result()).toMatchObject({ succeeded: 0, failed: 1 });
    const [e] = readManifest(outDir).items;
    expect(e).toMatchObject({ status: 'failed', provider, errorType: 'ContentRejected', attempts: 3 });
    expect(e.prompts).toEqual([prompt, 'a dragon over a castle, at night', 'a dragon over a castle']);
    expect(e.error).toMatch(/^moderation rejected the prompt and simplification could not help: /);
    expect(e.error).toMatch(provider === 'fal' ? /content_policy_violation/ : /moderation_blocked|safety system/);
    expect(e.tried).toBeUndefined();
    expect(counts(provider).refusedSubmissions).toBe(3);
    expect(counts(provider).submissions).toBe(0);
  });
});

describe('openai concurrency limit', () => {
  it("waits out the provider's limit (429 with retry-after): every item succeeds, never two generating", async () => {
    // One call of the test's own holds the only slot until it hangs up, so every submit of the batch is refused
    // until then, whatever the timing.
    sim.setKnobs({ concurrencyLimit: 1, latencyMs: 600_000 });
    const blocker = new AbortController();
    const held = fetch(`${sim.url}/v1/images/generations`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${sim.getKnobs().openaiKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-image-1', prompt: 'the call that holds the slot' }),
      signal: blocker.signal,
    }).catch(() => undefined);
    await waitFor(() => counts('openai').submissions === 1, 'the held call');
    sim.setKnobs({ latencyMs: 300 });

    const items = makeItems(4, 'ipm');
    const { handle, outDir } = await startTestBatch(env, batchId('limit', 'openai'), items, {
      provider: 'openai',
      concurrency: 4,
    });
    await waitFor(() => counts('openai').refusedSubmissions >= 4, 'four refused submits', 60_000);
    blocker.abort();
    await held;
    expect(await handle.result()).toMatchObject({ total: 4, succeeded: 4, failed: 0 });
    const c = counts('openai');
    expect(c.requestsByOutcome['concurrency-limited']).toBe(c.refusedSubmissions);
    expect(c.submissions).toBe(5);
    expect(c.maxInFlight).toBe(1);
    for (const it of items) expect(sim.stats().submissionsByPrompt[it.prompt]).toBe(1);
    expectIntact(outDir);
  });
});

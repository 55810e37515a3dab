// imageWorkflow on the real dev server with the provider simulator.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { imageWorkflow } from '../../src/workflows';
import { ImageState } from '../../src/shared/search-attributes';
import type { ImageItem, ImagePolicy, ImageResult, ProviderKind } from '../../src/shared/types';
import { renderPng } from '../../src/providers/simulator/png';
import { withoutPngMetadata } from '../../src/output/png-metadata';
import { FAST_POLICY, type ImageEnv, listFiles, startImageEnv, waitFor } from '../helpers/image-env';
import { closeConnections } from '../helpers/temporal';
import { maybeRecordHistory } from '../helpers/histories';
import { knobsFrom } from '../helpers/simulator-knobs';

let env: ImageEnv;
let n = 0;
const BASE_KNOBS = {
  latencyMs: 200,
  moderationWords: ['bloody'],
  moderationAt: 'submit' as const,
  expireFirst: 0,
  outputRejectFirst: 0,
  fail429: 0,
};

beforeAll(async () => {
  env = await startImageEnv(BASE_KNOBS);
});
afterAll(async () => {
  await env.stop();
  await closeConnections();
});
beforeEach(() => {
  env.sim.setKnobs(knobsFrom(BASE_KNOBS));
  env.sim.reset();
});

function start(
  item: Partial<ImageItem> & { prompt: string },
  o: { provider?: ProviderKind; policy?: Partial<ImagePolicy> } = {},
) {
  const id = item.id ?? `item-${++n}`;
  return env.client.workflow.start(imageWorkflow, {
    taskQueue: env.taskQueue,
    workflowId: `${env.taskQueue}/${id}`,
    args: [
      {
        batchId: 'b-test',
        item: { ...item, id },
        provider: o.provider ?? 'volcengine',
        outDir: path.join(env.outDir, 'b-test'),
        policy: { ...FAST_POLICY, ...o.policy },
      },
    ],
  });
}

async function failedResult(p: Promise<unknown>): Promise<ImageResult> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect((cause as ApplicationFailure).type).toBe('ImageFailed');
  return (cause as ApplicationFailure).details![0] as ImageResult;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('imageWorkflow', () => {
  it.each(['volcengine', 'dashscope'] as const)(
    'generates an image with %s and writes it to disk',
    async (provider) => {
      const prompt = `a quiet harbour at dawn (${provider})`;
      const handle = await start({ prompt, width: 512, height: 512, seed: 5 }, { provider });
      const r = await handle.result();
      expect(r).toMatchObject({ status: 'succeeded', provider, attempts: 1, prompts: [prompt] });
      const data = fs.readFileSync(r.file!);
      expect(PNG.sync.read(data).width).toBe(64);
      expect(r.sha256).toBe(sha(data));
      // The file carries imagebatch's metadata chunks; without them it is what the provider served.
      expect(sha(withoutPngMetadata(data))).toBe(env.sim.stats().served[r.providerTaskId!]);
      const desc = await handle.describe();
      expect(desc.typedSearchAttributes.get(ImageState)).toBe('succeeded');
      expect(listFiles(path.dirname(r.file!)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      if (provider === 'volcengine') await maybeRecordHistory(handle, 'image-happy');
    },
  );

  it('simplifies a prompt that moderation rejects at submit, and succeeds', async () => {
    const handle = await start({ prompt: 'a bloody battlefield at dawn, soldiers --ar 16:9' });
    const r = await handle.result();
    expect(r.status).toBe('succeeded');
    expect(r.prompts).toEqual(['a bloody battlefield at dawn, soldiers', 'a battlefield at dawn, soldiers']);
    expect(env.sim.stats().submissionsByPrompt['a bloody battlefield at dawn, soldiers']).toBeUndefined();
    await maybeRecordHistory(handle, 'image-simplified');
  });

  it('simplifies a prompt that moderation rejects at result time, and succeeds', async () => {
    env.sim.setKnobs({ moderationAt: 'result' });
    const r = await (await start({ prompt: 'a bloody sunset over the sea' }, { provider: 'dashscope' })).result();
    expect(r.status).toBe('succeeded');
    expect(r.prompts).toEqual(['a bloody sunset over the sea', 'a sunset over the sea']);
    expect(r.attempts).toBe(2);
  });

  it('fails with the reason when simplification cannot help', async () => {
    env.sim.setKnobs({ moderationWords: ['dragon'] });
    const r = await failedResult((await start({ prompt: 'a dragon over a castle, at night, in the rain' })).result());
    expect(r.status).toBe('failed');
    expect(r.prompts).toEqual([
      'a dragon over a castle, at night, in the rain',
      'a dragon over a castle, at night',
      'a dragon over a castle',
    ]);
    expect(r.error).toMatch(/moderation rejected the prompt and simplification could not help: code 50413/);
    expect(r.errorType).toBe('ContentRejected');
  });

  it('resubmits an expired task', async () => {
    env.sim.setKnobs({ expireFirst: 1 });
    const prompt = 'a lighthouse in fog';
    const handle = await start({ prompt });
    const r = await handle.result();
    expect(r).toMatchObject({ status: 'succeeded', attempts: 2 });
    await maybeRecordHistory(handle, 'image-resubmitted');
    expect(env.sim.stats().submissionsByPrompt[prompt]).toBe(2);
  });

  it('gives up after the retry budget', async () => {
    env.sim.setKnobs({ expireFirst: 10 });
    const prompt = 'an always-expiring task';
    const r = await failedResult((await start({ prompt }, { policy: { retries: 2 } })).result());
    expect(r.attempts).toBe(3);
    expect(r.error).toMatch(/expired.*gave up after 2 retries/);
    expect(env.sim.stats().submissionsByPrompt[prompt]).toBe(3);
  });

  it('retries a retryable output rejection with a new seed', async () => {
    env.sim.setKnobs({ outputRejectFirst: 1 });
    const prompt = 'a glass teapot';
    const r = await (await start({ prompt, seed: 41 })).result();
    expect(r.status).toBe('succeeded');
    expect(env.sim.stats().seedsByPrompt[prompt]).toEqual([41, 42]);
  });

  it('rides out a 429 storm', async () => {
    env.sim.setKnobs({ fail429: 0.6, randomSeed: 7 });
    const handles = await Promise.all([1, 2, 3, 4].map((i) => start({ prompt: `storm ${i}` })));
    const results = await Promise.all(handles.map((h) => h.result()));
    expect(results.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    expect(env.sim.stats().requestsByOutcome['429']).toBeGreaterThan(0);
  });

  it('cancels the provider task when cancelled mid-generation, leaving no file', async () => {
    env.sim.setKnobs({ latencyMs: 60_000 });
    const prompt = 'a slow painting';
    const handle = await start({ prompt, id: 'to-cancel' });
    await waitFor(() => env.sim.stats().submissionsByPrompt[prompt], 'the submission');
    await waitFor(
      async () => (await handle.describe()).typedSearchAttributes.get(ImageState) === 'generating',
      'generating',
    );
    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(env.sim.stats().cancels).toBe(1);
    expect((await handle.describe()).typedSearchAttributes.get(ImageState)).toBe('cancelled');
    expect(listFiles(path.join(env.outDir, 'b-test')).filter((f) => f.startsWith('to-cancel'))).toEqual([]);
  });

  it('cancels the provider task and resubmits when the max wait passes', async () => {
    env.sim.setKnobs({ latencyMs: 60_000 });
    const prompt = 'a task that never finishes';
    const r = await failedResult((await start({ prompt }, { policy: { maxWaitMs: 1500, retries: 1 } })).result());
    expect(r.error).toMatch(/no result within the max wait/);
    expect(env.sim.stats().submissionsByPrompt[prompt]).toBe(2);
    expect(env.sim.stats().cancels).toBe(2);
  });

  it('skips the provider when the output already exists', async () => {
    const dir = path.join(env.outDir, 'b-test');
    fs.mkdirSync(dir, { recursive: true });
    const png = renderPng('already here', 1);
    fs.writeFileSync(path.join(dir, 'existing.png'), png);
    const prompt = 'an image made earlier';
    const r = await (await start({ prompt, id: 'existing' })).result();
    expect(r).toMatchObject({ status: 'succeeded', skipped: true, attempts: 0, sha256: sha(png) });
    expect(env.sim.stats().submissionsByPrompt[prompt]).toBeUndefined();
  });

  it('fails at once on an invalid request (unreadable reference image), without submitting', async () => {
    const prompt = 'a portrait like the reference';
    const r = await failedResult((await start({ prompt, referenceImages: ['/no/such/file.png'] })).result());
    expect(r.errorType).toBe('InvalidRequest');
    expect(r.error).toMatch(/no\/such\/file\.png/);
    expect(r.attempts).toBe(0);
    // The provider saw no request for it at all, accepted or refused.
    expect(env.sim.stats().submissionsByPrompt[prompt]).toBeUndefined();
    expect(env.sim.stats().requestsByOutcome).toEqual({});
  });

  it('sends local reference images as base64 (character keeping)', async () => {
    const ref = path.join(env.outDir, 'ref.png');
    fs.writeFileSync(ref, renderPng('a face', 1));
    const prompt = 'the same character, smiling';
    const r = await (await start({ prompt, referenceImages: [ref] })).result();
    expect(r.status).toBe('succeeded');
    expect(r.model).toBe('high_aes_ip_v20');
    expect(env.sim.stats().referenceImages[prompt]).toBe(1);
  });

  it('writes as many history events at 0.2 s as at 3 s of provider latency', async () => {
    const count = async (latencyMs: number, prompt: string) => {
      env.sim.setKnobs({ latencyMs });
      const h = await start({ prompt }, { policy: { expectedLatencyMs: 200, pollIntervalMs: 200 } });
      await h.result();
      return (await h.fetchHistory()).events!.length;
    };
    const fast = await count(200, 'fast one');
    const slow = await count(3000, 'slow one');
    expect(slow).toBe(fast);
    console.log(`imageWorkflow happy-path history: ${fast} events`);
  });
});

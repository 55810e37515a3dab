// imageWorkflow with a synchronous provider, and with a fallback list, on the real dev server with the simulator.
// Both histories are recorded (RECORD_HISTORIES=1) for the replay tests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { imageWorkflow } from '../../src/workflows';
import { readPngMetadata } from '../../src/output/png-metadata';
import type { ImageItem, ProviderKind } from '../../src/shared/types';
import { FAST_POLICY, type ImageEnv, startImageEnv } from '../helpers/image-env';
import { maybeRecordHistory } from '../helpers/histories';
import { startTestBatch } from '../helpers/batch';
import { closeConnections } from '../helpers/temporal';

let env: ImageEnv;
let n = 0;

beforeAll(async () => {
  // fal's key is not the one the simulator expects: fal refuses every request as unauthorised.
  env = await startImageEnv({ latencyMs: 200, moderationWords: [] }, { env: { FAL_KEY: 'not-the-key' } });
});
afterAll(async () => {
  await env.stop();
  await closeConnections();
});

function start(item: Partial<ImageItem> & { prompt: string }, providers: ProviderKind[]) {
  const id = `item-${++n}`;
  return env.client.workflow.start(imageWorkflow, {
    taskQueue: env.taskQueue,
    workflowId: `${env.taskQueue}/${id}`,
    args: [
      {
        batchId: 'b-providers',
        item: { ...item, id },
        provider: providers[0],
        ...(providers.length > 1 ? { providers } : {}),
        outDir: path.join(env.outDir, 'b-providers'),
        policy: FAST_POLICY,
        // As a batch's first images do: the image opens its account itself (and the next one's on a fallback).
        openAccount: true,
      },
    ],
  });
}

describe('imageWorkflow and its providers', () => {
  it('makes an image with a synchronous provider in one call, its metadata in the file', async () => {
    const handle = await start({ prompt: 'a paper lantern on a pond', width: 512, height: 512, seed: 9 }, ['openai']);
    const r = await handle.result();
    expect(r).toMatchObject({ status: 'succeeded', provider: 'openai', attempts: 1, tasks: 1 });
    // The Images API has no seed: the item's is not what made the image, so none is recorded.
    expect(r.seed).toBeUndefined();
    expect(r.providerTaskId).toBeUndefined();
    expect(env.sim.stats().byProvider.openai?.submissions).toBe(1);
    const meta = readPngMetadata(fs.readFileSync(r.file!));
    expect(meta.imagebatch).toMatchObject({
      prompt: 'a paper lantern on a pond',
      width: 64,
      height: 64,
      provider: 'openai',
    });
    expect(meta.imagebatch).not.toHaveProperty('seed');
    await maybeRecordHistory(handle, 'image-sync');
  });

  it('moves to the next provider when the first refuses the credentials, and says so', async () => {
    const handle = await start({ prompt: 'a kite over dunes' }, ['fal', 'dashscope']);
    const r = await handle.result();
    expect(r).toMatchObject({ status: 'succeeded', provider: 'dashscope' });
    expect(r.tried).toEqual([
      { provider: 'fal', errorType: 'AuthFailed', reason: expect.any(String) },
      { provider: 'dashscope' },
    ]);
    expect(env.sim.stats().byProvider.dashscope?.submissions).toBe(1);
    await maybeRecordHistory(handle, 'image-fallback');
  });

  it('runs a batch of items on several providers, with a completion command', async () => {
    const items: ImageItem[] = [
      { id: 'v', prompt: 'a red door' },
      { id: 'o', prompt: 'a blue door', provider: 'openai' },
      { id: 'f', prompt: 'a green door', provider: ['fal', 'dashscope'] },
      { id: 'c', prompt: 'a white door', provider: 'comfyui' },
    ];
    env.sim.reset();
    const hookOut = path.join(env.outDir, 'hook-summary.json');
    const { handle } = await startTestBatch(env, 'b-mixed', items, { onComplete: `cat > '${hookOut}'` });
    const summary = await handle.result();
    expect(summary).toMatchObject({ total: 4, succeeded: 4, failed: 0, hooks: [{ kind: 'command', ok: true }] });
    expect(JSON.parse(fs.readFileSync(hookOut, 'utf8'))).toMatchObject({ batchId: 'b-mixed', succeeded: 4 });
    const stats = env.sim.stats().byProvider;
    for (const p of ['volcengine', 'openai', 'dashscope', 'comfyui'] as const) expect(stats[p]?.submissions).toBe(1);
    await maybeRecordHistory(handle, 'batch-providers');
  });
});

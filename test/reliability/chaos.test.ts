// Provider chaos: 5xx, 429s (including the 50430 concurrency limit), hung and slow responses, malformed
// JSON, expiring tasks and moderation. Every item ends succeeded, failed with a reason, or rejected after
// simplification; the manifest accounts for every item; nothing is retried past its budget.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import { batchWorkflow } from '../../src/workflows';
import type { ImagePolicy, ProviderKind } from '../../src/shared/types';
import { type ImageEnv, startImageEnv } from '../helpers/image-env';
import { closeConnections } from '../helpers/temporal';
import { expectOutputsIntact, makeItems } from '../helpers/batch';

let env: ImageEnv;
const POLICY: ImagePolicy = {
  pollIntervalMs: 200,
  expectedLatencyMs: 200,
  maxWaitMs: 20_000,
  retries: 3,
  simplifications: 2,
};

beforeAll(async () => {
  env = await startImageEnv(
    {
      latencyMs: { dist: 'uniform', min: 100, max: 600 },
      fail5xx: 0.2,
      fail429: 0.1,
      hang: 0.02,
      hangMs: 10_000,
      slow: 0.05,
      slowMs: 500,
      malformed: 0.05,
      expire: 0.05,
      moderationWords: ['bloody', 'forbidden'],
      concurrencyLimit: 8,
      randomSeed: 20261125,
    },
    // Hung responses are cut off by the client's timeout, then retried.
    { httpTimeoutMs: 1500 },
  );
});
beforeEach(() => env.sim.reset());
afterAll(async () => {
  await env.stop();
  await closeConnections();
});

describe('provider chaos', () => {
  it.each(['volcengine', 'dashscope'] as ProviderKind[])('accounts for every item with %s', async (provider) => {
    const items = makeItems(40, `chaos-${provider}`, (i) =>
      i % 8 === 0 ? { prompt: `a bloody scene number ${i}, at night` } : i % 13 === 0 ? { prompt: `forbidden` } : {},
    );
    const batchId = `chaos-${provider}-${process.pid}`;
    const outDir = path.join(env.outDir, batchId);
    const summary = await (
      await env.client.workflow.start(batchWorkflow, {
        taskQueue: env.taskQueue,
        workflowId: `batch-${batchId}`,
        args: [{ batchId, items: { kind: 'inline', items }, outDir, provider, concurrency: 10, policy: POLICY }],
      })
    ).result();
    expect(summary.total).toBe(40);
    expect(summary.succeeded + summary.failed).toBe(40);
    const stats = env.sim.stats();
    const m = expectOutputsIntact(outDir, stats);
    expect(m.items.map((e) => e.id)).toEqual(items.map((i) => i.id));
    for (const e of m.items) {
      // The budget: one first try, `retries` resubmissions, `simplifications` rewrites.
      expect(e.attempts).toBeLessThanOrEqual(1 + POLICY.retries + POLICY.simplifications);
      if (e.status === 'failed') expect(e.error).toBeTruthy();
    }
    for (const e of m.items.filter((x) => x.prompts[0] === 'forbidden')) {
      expect(e).toMatchObject({ status: 'failed', errorType: 'ContentRejected' });
      expect(e.error).toMatch(/simplification could not help/);
    }
    for (const e of m.items.filter((x) => x.prompts[0].startsWith('a bloody'))) {
      if (e.status === 'succeeded') expect(e.prompts.at(-1)).not.toMatch(/bloody/);
    }
    const outcomes = stats.requestsByOutcome;
    console.log(`chaos ${provider}: ${JSON.stringify(summary)} outcomes ${JSON.stringify(outcomes)}`);
    expect(outcomes['5xx']).toBeGreaterThan(0);
    expect(outcomes['429']).toBeGreaterThan(0);
    expect(outcomes.malformed).toBeGreaterThan(0);
    // Most items get through this much chaos; the rest failed with a reason above.
    expect(summary.succeeded).toBeGreaterThanOrEqual(30);
  });
});

// Provider chaos: 5xx, 429s (including the 50430 concurrency limit), hung and slow responses, malformed
// JSON, expiring tasks and moderation. Every item ends succeeded, failed with a reason, or rejected after
// simplification; the manifest accounts for every item; nothing is retried past its budget.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ImagePolicy, ProviderKind } from '../../src/shared/types';
import { type ImageEnv, startImageEnv } from '../helpers/image-env';
import { closeConnections } from '../helpers/temporal';
import { expectOutputsIntact, makeItems, startTestBatch } from '../helpers/batch';

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
    const { handle, outDir } = await startTestBatch(env, `chaos-${provider}-${process.pid}`, items, {
      provider,
      concurrency: 10,
      policy: POLICY,
    });
    const summary = await handle.result();
    expect(summary.total).toBe(40);
    expect(summary.succeeded + summary.failed).toBe(40);
    const stats = env.sim.stats();
    const m = expectOutputsIntact(outDir, stats);
    expect(m.items.map((e) => e.id)).toEqual(items.map((i) => i.id));
    // The budget, counted by the provider (tasks it accepted, under every prompt an item tried): one first try,
    // `retries` resubmissions, `simplifications` rewrites. The three "forbidden" items share their one prompt.
    const budget = 1 + POLICY.retries + POLICY.simplifications;
    const sharing: Record<string, number> = {};
    for (const e of m.items) for (const p of new Set(e.prompts)) sharing[p] = (sharing[p] ?? 0) + 1;
    const paid = (prompts: string[]) =>
      [...new Set(prompts)].map((p) => (stats.submissionsByPrompt[p] ?? 0) / sharing[p]);
    const overBudget = m.items.filter((e) => paid(e.prompts).reduce((a, b) => a + b, 0) > budget);
    expect(overBudget).toEqual([]);
    // Every task the provider accepted was for a prompt some item tried, so none escapes the count above.
    expect(Object.keys(stats.submissionsByPrompt).filter((p) => !(p in sharing))).toEqual([]);
    const failed = m.items.filter((e) => e.status === 'failed');
    expect(failed).toHaveLength(summary.failed);
    expect(failed.filter((e) => !e.error)).toEqual([]);
    // Every kind of item is there, so the loops below cannot pass by checking nothing.
    const idsOf = (pick: (prompt: string) => boolean) => items.filter((i) => pick(i.prompt)).map((i) => i.id);
    const forbiddenIds = idsOf((p) => p === 'forbidden');
    const bloodyIds = idsOf((p) => p.startsWith('a bloody'));
    expect([forbiddenIds.length, bloodyIds.length]).toEqual([3, 5]);
    // A prompt that is nothing but a moderated word: no simplification can save it.
    const forbidden = m.items.filter((e) => forbiddenIds.includes(e.id));
    expect(forbidden).toHaveLength(3);
    for (const e of forbidden) {
      expect(e).toMatchObject({ status: 'failed', errorType: 'ContentRejected' });
      expect(e.error).toMatch(/simplification could not help/);
    }
    // Simplification rescues these, unless the chaos used up an item's budget and it ends rejected.
    const bloody = m.items.filter((e) => bloodyIds.includes(e.id));
    expect(bloody).toHaveLength(5);
    for (const e of bloody) {
      const simplified = e.prompts.length > 1 && !/bloody/.test(e.prompts.at(-1)!);
      const outcome = e.status === 'succeeded' && simplified ? 'rescued' : `${e.status} ${e.errorType}`;
      expect(['rescued', 'failed ContentRejected'], `${e.id} after ${JSON.stringify(e.prompts)}`).toContain(outcome);
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

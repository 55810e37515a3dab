// `imagebatch worker --metrics IP:PORT`: a real worker process serves Prometheus metrics, the SDK's and imagebatch's,
// while it works a batch against the simulator with a moderated prompt and throttles. Its counts are checked against
// what the provider saw (/__stats) and what the batch reports, and nothing secret or personal is in a label.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { accountOf } from '../../src/providers/account';
import { providersFromEnv } from '../../src/providers';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import type { SimulatorStats } from '../../src/providers/simulator/stats';
import { accountHash } from '../../src/shared/account-queues';
import { freePort } from '../../src/temporal/dev-server-process';
import { terminateBatchAndImages } from '../helpers/batch';
import { cliEnv, runCli, spawnCli } from '../helpers/cli';
import { closeConnections, testClient } from '../helpers/temporal';

let sim: ProviderSimulator;
let dir: string;

beforeAll(async () => {
  // One task at a time at the provider, each for 3 s: of the batch's first submits, all at once, all but one are
  // throttled (50430), and the account learns its limit.
  sim = await startSimulator({ latencyMs: 3000, concurrencyLimit: 1 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-metrics-'));
});
afterAll(async () => {
  await sim.close();
  await closeConnections();
});

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics: ${res.status}`);
  return res.text();
}

/** The sum of a metric's samples whose labels include `labels` (a counter's, a gauge's, or a histogram's _count). */
function total(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

async function simStats(): Promise<SimulatorStats> {
  return (await fetch(`${sim.baseUrl}/__stats`)).json() as Promise<SimulatorStats>;
}

describe('imagebatch worker --metrics', () => {
  it("serves the SDK's and imagebatch's metrics, counted as the provider and the batch saw them", async () => {
    const port = await freePort();
    const env = cliEnv({ ...sim.env(), IMAGEBATCH_CONTROL_TIMEOUT_MS: '3000' });
    const prompts = ['a quiet harbour at dawn', 'a red fox in the snow', 'a bloody battlefield at sunset', 'a teapot'];
    const items = path.join(dir, 'items.jsonl');
    fs.writeFileSync(items, prompts.map((p, i) => JSON.stringify({ id: `secret-item-${i}`, prompt: p })).join('\n'));
    const batchId = `metrics-${process.pid}`;
    const account = accountOf('volcengine', providersFromEnv(env), env.IMAGEBATCH_TASK_QUEUE!);
    const worker = spawnCli(['worker', '--provider', 'volcengine', '--metrics', `127.0.0.1:${port}`], { env });
    try {
      await expect
        .poll(() => worker.output.stderr, { timeout: 30_000 })
        .toContain(`Prometheus metrics: http://127.0.0.1:${port}/metrics`);
      // The SDK's own metrics are there, with its prefix.
      expect(await scrape(port)).toMatch(/^temporal_\w+/m);
      const started = await runCli(
        ['start', items, '--out', path.join(dir, 'out'), '--batch-id', batchId, '--provider', 'volcengine'].concat([
          '--poll-interval',
          '0.2',
          '--max-wait',
          '120',
        ]),
        { env },
      );
      expect(started.code, started.stderr).toBe(0);
      // While it runs: a submit is counted once the provider took it.
      await expect
        .poll(async () => total(await scrape(port), 'imagebatch_provider_submits', { outcome: 'accepted' }), {
          timeout: 60_000,
        })
        .toBeGreaterThan(0);

      const watched = await runCli(['watch', batchId, '--json'], { env });
      expect(watched.code, watched.stderr).toBe(0);
      const doc = JSON.parse(watched.stdout);
      expect(doc).toMatchObject({ status: 'completed', counts: { succeeded: 4 } });

      // After: every image's end is counted (the workflow's metrics reach the exporter as its task completes).
      await expect
        .poll(async () => total(await scrape(port), 'imagebatch_images_ended'), { timeout: 30_000 })
        .toBe(prompts.length);
      const text = await scrape(port);
      const stats = await simStats();
      const v = { provider: 'volcengine' };
      expect(stats.requestsByOutcome['concurrency-limited']).toBeGreaterThan(0);
      expect(stats.requestsByOutcome.moderated).toBeGreaterThan(0);
      expect(total(text, 'imagebatch_images_ended', { ...v, outcome: 'succeeded' })).toBe(4);
      expect(total(text, 'imagebatch_provider_submits', { ...v, outcome: 'accepted' })).toBe(stats.submissions);
      expect(total(text, 'imagebatch_provider_submits', { ...v, outcome: 'throttled' })).toBe(
        stats.requestsByOutcome['concurrency-limited'],
      );
      expect(total(text, 'imagebatch_provider_submits', { ...v, outcome: 'moderated' })).toBe(
        stats.requestsByOutcome.moderated,
      );
      // Each moderated submit was rewritten and submitted again: the battlefield's prompts beyond the first.
      const battle = Object.keys(stats.submissionsByPrompt).filter((p) => p !== prompts[2] && /battlefield/.test(p));
      expect(battle.length).toBeGreaterThan(0);
      expect(total(text, 'imagebatch_moderation_rewrites', v)).toBe(stats.requestsByOutcome.moderated);
      // One call-time sample per submit, one image-time sample per image.
      expect(total(text, 'imagebatch_provider_call_seconds_count', v)).toBe(
        total(text, 'imagebatch_provider_submits', v),
      );
      expect(total(text, 'imagebatch_image_seconds_count', v)).toBe(prompts.length);
      // The account's slots, by its short hash, read from its workflow: nothing in flight or waiting any more.
      const slots = { provider: 'volcengine', account: accountHash(account) };
      await expect
        .poll(async () => (await scrape(port)).includes(`imagebatch_account_slots_in_flight{`), { timeout: 30_000 })
        .toBe(true);
      await expect
        .poll(
          async () => {
            const now = await scrape(port);
            return [
              total(now, 'imagebatch_account_slots_in_flight', slots),
              now.match(/imagebatch_account_slots_waiting\{[^}]*\}/g)?.length ?? 0,
            ];
          },
          { timeout: 30_000 },
        )
        .toEqual([0, 1]);

      // No prompt, item id or key in the scrape.
      const last = await scrape(port);
      for (const p of [...prompts, ...Object.keys(stats.submissionsByPrompt)]) expect(last).not.toContain(p);
      expect(last).not.toMatch(/secret-item/);
      for (const key of [env.VOLC_ACCESSKEY!, env.VOLC_SECRETKEY!]) expect(last).not.toContain(key);
    } finally {
      worker.kill('SIGINT');
      await worker.done;
      await terminateBatchAndImages(await testClient(), batchId);
      await (
        await testClient()
      ).workflow
        .getHandle(account.workflowId)
        .terminate('test cleanup')
        .catch(() => undefined);
    }
  });

  it('refuses an address that is not IP:PORT, and one already taken: exit 2, naming it', async () => {
    const bad = await runCli(['worker', '--metrics', 'localhost:9464'], { env: cliEnv() });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--metrics: expected IP:PORT .* got 'localhost:9464'/);
    const fromEnv = await runCli(['worker'], { env: cliEnv({ IMAGEBATCH_METRICS: '9464' }) });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toMatch(/IMAGEBATCH_METRICS: expected IP:PORT/);
    const taken = new URL(sim.baseUrl).host;
    const busy = await runCli(['worker', '--metrics', taken], { env: cliEnv() });
    expect(busy.code).toBe(2);
    expect(busy.stderr).toMatch(new RegExp(`metrics at ${taken}: .*Address already in use`));
  });
});

// Completion hooks and honest progress through the CLI, against the dev server and the simulator: `--on-complete`
// gets the summary on stdin, `--webhook` is signed and carries a stable delivery id, the webhook arrives (deduped by
// that id) once across a worker killed mid-delivery, and `status --json` of a running batch counts items per state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { verifySignature } from '../../src/activities/webhook';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import type { BatchSummary } from '../../src/shared/batch-types';
import { makeItems, startTestBatch } from '../helpers/batch';
import { cliEnv, runCli, spawnCli } from '../helpers/cli';
import { FAST_POLICY, waitFor } from '../helpers/image-env';
import { closeConnections, testClient, uniqueQueue } from '../helpers/temporal';

const SECRET = 'test-webhook-secret';
const BASE_KNOBS = { latencyMs: 100, moderationWords: ['doomed'] };

interface Delivery {
  id: string;
  signed: boolean;
  summary: BatchSummary;
}

/**
 * A webhook receiver on loopback. `hold(n)`: the first n requests get no answer (their worker is killed meanwhile);
 * `arrived(k)` resolves when k requests have come in.
 */
async function startReceiver() {
  const deliveries: Delivery[] = [];
  const waiters: { k: number; resolve: () => void }[] = [];
  let holding = 0;
  const held: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      deliveries.push({
        id: String(req.headers['x-imagebatch-delivery']),
        signed: verifySignature(body, req.headers['x-imagebatch-signature'] as string | undefined, SECRET),
        summary: JSON.parse(body.toString()) as BatchSummary,
      });
      for (const w of waiters.filter((x) => deliveries.length >= x.k)) w.resolve();
      if (holding > 0) {
        holding--;
        held.push(res);
        return;
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/done`,
    deliveries,
    hold: (n: number) => void (holding = n),
    arrived: (k: number) => new Promise<void>((resolve) => waiters.push({ k, resolve })),
    close: () => {
      for (const r of held) r.destroy();
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

let sim: ProviderSimulator;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let dir: string;
beforeAll(async () => {
  sim = await startSimulator(BASE_KNOBS);
  receiver = await startReceiver();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-hooks-'));
});
afterAll(async () => {
  await receiver.close();
  await sim.close();
  await closeConnections();
});

const simEnv = (extra: Record<string, string> = {}) =>
  cliEnv({ ...sim.env(), IMAGEBATCH_WEBHOOK_SECRET: SECRET, IMAGEBATCH_LOG_LEVEL: 'WARN', ...extra });
const fast = ['--poll-interval', '0.2', '--max-wait', '30'];
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
};

describe('completion hooks', () => {
  it('run --on-complete and --webhook: the command gets the summary on stdin, the webhook is signed', async () => {
    sim.setKnobs(BASE_KNOBS);
    const items = write('hooks.jsonl', '{"id":"ok","prompt":"a calm lake"}\n{"id":"bad","prompt":"doomed"}\n');
    const got = path.join(dir, 'summary-from-stdin.json');
    const id = `hooks-${Date.now()}`;
    const before = receiver.deliveries.length;
    const r = await runCli(
      [
        'run',
        items,
        '--out',
        path.join(dir, 'out'),
        '--batch-id',
        id,
        ...fast,
        '--on-complete',
        `cat > '${got}'`,
        '--webhook',
        receiver.url,
      ],
      { env: simEnv() },
    );
    // One item failed: exit 1, and the headline does not read like a clean success.
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`Batch ${id} completed with 1 failed: 1 succeeded, 1 failed, 0 cancelled`));
    const summary = JSON.parse(fs.readFileSync(got, 'utf8')) as BatchSummary;
    expect(summary).toMatchObject({
      batchId: id,
      status: 'completed',
      succeeded: 1,
      failed: 1,
      outcome: 'completed with 1 failed: 1 of 2 succeeded',
      manifest: path.join(dir, 'out', id, 'manifest.json'),
    });
    const mine = receiver.deliveries.slice(before);
    expect(mine).toHaveLength(1);
    expect(mine[0].signed).toBe(true);
    expect(mine[0].summary).toEqual(summary);
    const { runId } = await (await testClient()).workflow.getHandle(`batch-${id}`).describe();
    expect(mine[0].id).toBe(`batch-${id}/${runId}`);
    // status reads the hooks' outcome from the workflow's result.
    const status = await runCli(['status', id, '--json'], { env: simEnv() });
    expect(JSON.parse(status.stdout)).toMatchObject({
      outcome: 'completed with 1 failed: 1 of 2 succeeded',
      hooks: [
        { kind: 'command', ok: true },
        { kind: 'webhook', ok: true },
      ],
    });
  });

  it('refuses a webhook that is not an http(s) URL (exit 2)', async () => {
    const items = write('one.txt', 'a red kite\n');
    const r = await runCli(['start', items, '--out', dir, '--webhook', 'file:///etc/passwd'], { env: simEnv() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--webhook.*http:\/\/ or https:\/\//);
  });

  it('delivers the webhook once (by delivery id) across a worker killed mid-delivery', async () => {
    sim.setKnobs(BASE_KNOBS);
    const queue = uniqueQueue('hook-kill');
    const env = simEnv();
    const startWorker = () => spawnCli(['worker', '--task-queue', queue], { env });
    let worker = startWorker();
    const target = { client: await testClient(), taskQueue: queue, outDir: dir };
    const before = receiver.deliveries.length;
    receiver.hold(1);
    const first = receiver.arrived(before + 1);
    const { handle } = await startTestBatch(target, queue, makeItems(2, 'kill'), {
      policy: FAST_POLICY,
      webhook: receiver.url,
    });
    try {
      // The first POST is in flight and unanswered: the worker dies with it.
      await first;
      worker.kill('SIGKILL');
      await worker.done;
      worker = startWorker();
      const summary = await handle.result();
      expect(summary).toMatchObject({ succeeded: 2, hooks: [{ kind: 'webhook', ok: true }] });
      const mine = receiver.deliveries.slice(before);
      // At least once over HTTP: the retry came, with the same delivery id, which the receiver dedupes on.
      expect(mine.length).toBeGreaterThanOrEqual(2);
      expect(new Set(mine.map((d) => d.id)).size).toBe(1);
      expect(mine[0].id).toBe(`${handle.workflowId}/${(await handle.describe()).runId}`);
      expect(mine.every((d) => d.signed)).toBe(true);
    } finally {
      worker.kill('SIGTERM');
      await worker.done;
    }
  });
});

describe('honest progress', () => {
  it('status --json of a running batch counts its items per state; a cancelled batch still calls its webhook', async () => {
    // Images stay at the provider until the batch is cancelled; the account lets one run at a time.
    sim.setKnobs({ ...BASE_KNOBS, latencyMs: 120_000 });
    const env = simEnv({ IMAGEBATCH_VOLCENGINE_MAX_IN_FLIGHT: '1' });
    const worker = spawnCli(['worker'], { env });
    const id = `states-${Date.now()}`;
    try {
      const items = write(
        'states.txt',
        'a slow lighthouse 1\na slow lighthouse 2\na slow lighthouse 3\na slow lighthouse 4\n',
      );
      const start = await runCli(
        [
          'start',
          items,
          '--out',
          path.join(dir, 'out'),
          '--batch-id',
          id,
          '--concurrency',
          '3',
          ...fast,
          '--webhook',
          receiver.url,
        ],
        { env },
      );
      expect(start.code).toBe(0);
      // Visibility follows the children a moment late: ask until it has caught up.
      const doc = await waitFor(async () => {
        const r = await runCli(['status', id, '--json'], { env });
        const d = r.stdout ? JSON.parse(r.stdout) : undefined;
        return d?.states?.waiting === 2 && d.states.generating === 1 ? d : undefined;
      }, 'status --json to show 1 generating and 2 waiting');
      expect(doc).toMatchObject({
        status: 'running',
        states: { queued: 1, waiting: 2, generating: 1, succeeded: 0, failed: 0, cancelled: 0 },
      });
      const text = await runCli(['status', id], { env });
      expect(text.stdout).toMatch(/1 running, 2 waiting for a slot.* · 1 generating/);
      // The cancelled end goes through the same finish: the webhook says how it ended.
      expect((await runCli(['cancel', id], { env })).code).toBe(0);
      const delivery = await waitFor(
        () => receiver.deliveries.find((d) => d.summary.batchId === id),
        "the cancelled batch's webhook",
      );
      expect(delivery.summary).toMatchObject({
        status: 'cancelled',
        cancelled: 4,
        outcome: 'cancelled: 0 of 4 succeeded, 4 cancelled',
      });
    } finally {
      await runCli(['cancel', id], { env });
      worker.kill('SIGTERM');
      await worker.done;
      sim.setKnobs(BASE_KNOBS);
    }
  });
});

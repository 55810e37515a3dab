// Completion hooks of a real `run` (dev server, simulator, the CLI as a process) against hostile ends: a webhook
// receiver that answers 200 and then streams a body that never ends gets its delivery once (the worker does not read
// the body, so no missed heartbeat POSTs it again), and the completion command sees PATH and what the worker names,
// never the worker's other secrets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import { cliEnv, runCli, spawnCli } from '../helpers/cli';
import { waitFor } from '../helpers/image-env';
import { closeConnections, testClient } from '../helpers/temporal';

/** The first POST gets 200 and an endless body; any later one (a retry: the bug) gets 204. */
async function startEndlessReceiver() {
  const deliveries: string[] = [];
  let hungUp = false;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      deliveries.push(String(req.headers['x-imagebatch-delivery']));
      if (deliveries.length > 1) return void res.writeHead(204).end();
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const piece = Buffer.alloc(64 * 1024, 'x');
      let open = true;
      res.on('close', () => {
        open = false;
        hungUp = true;
      });
      const pump = () => {
        while (open && res.write(piece));
        if (open) res.once('drain', pump);
      };
      pump();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/done`,
    deliveries,
    hungUp: () => hungUp,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

let sim: ProviderSimulator;
let receiver: Awaited<ReturnType<typeof startEndlessReceiver>>;
let dir: string;
beforeAll(async () => {
  sim = await startSimulator({ latencyMs: 50 });
  receiver = await startEndlessReceiver();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-hostile-hooks-'));
});
afterAll(async () => {
  await receiver.close();
  await sim.close();
  await closeConnections();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('completion hooks of a run, against hostile ends', () => {
  it('one delivery to a receiver streaming an endless 200; the command sees PATH and what is named', async () => {
    const items = path.join(dir, 'one.txt');
    fs.writeFileSync(items, 'a quiet harbour\n');
    const envFile = path.join(dir, 'command-env.txt');
    const id = `endless-${Date.now()}`;
    const env = cliEnv({
      ...sim.env(),
      IMAGEBATCH_LOG_LEVEL: 'WARN',
      AWS_SECRET_ACCESS_KEY: 'aws-secret-value',
      AWS_ACCESS_KEY_ID: 'aws-key-id',
      MY_BUCKET: 'bucket-name',
    });
    const r = await runCli(
      [
        'run',
        items,
        '--out',
        dir,
        '--batch-id',
        id,
        '--poll-interval',
        '0.2',
        '--webhook',
        receiver.url,
        '--on-complete',
        `env > '${envFile}'`,
        '--on-complete-env',
        'MY_BUCKET',
        '--json',
      ],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      hooks: expect.arrayContaining([
        { kind: 'command', ok: true },
        { kind: 'webhook', ok: true },
      ]),
    });
    expect(receiver.deliveries).toHaveLength(1);
    expect(receiver.hungUp()).toBe(true);
    const seen = fs.readFileSync(envFile, 'utf8');
    expect(seen).toMatch(/^PATH=/m);
    expect(seen).toMatch(/^MY_BUCKET=bucket-name$/m);
    expect(seen).not.toMatch(/AWS_SECRET_ACCESS_KEY|aws-secret-value|AWS_ACCESS_KEY_ID/);
  });

  it('says what it waits for when the webhook is unreachable, how long it is retried, and that Ctrl-C detaches', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const items = path.join(dir, 'unreachable.txt');
    fs.writeFileSync(items, 'a lone pine\n');
    const id = `unreachable-${Date.now()}`;
    const env = cliEnv({ ...sim.env(), IMAGEBATCH_LOG_LEVEL: 'WARN' });
    const args = ['run', items, '--out', dir, '--batch-id', id, '--poll-interval', '0.2'];
    const child = spawnCli([...args, '--webhook', `http://127.0.0.1:${port}/hook`], { env });
    try {
      await waitFor(() => /waiting for the webhook/.test(child.output.stderr), 'run to say what it waits for', 60_000);
      const line = child.output.stderr.split('\n').find((l) => l.includes('waiting for the webhook'))!;
      expect(line).toMatch(/\d+ attempts? failed, the last with: .*ECONNREFUSED/);
      expect(line).toMatch(/given up at \d\d:\d\d UTC \(in (59 min|1 h)\)/);
      expect(line).toMatch(
        /Ctrl-C twice detaches: the batch stays open on the server, and `imagebatch worker.*` keeps/,
      );
      child.kill('SIGINT');
      await waitFor(() => /Ctrl-C again to detach/.test(child.output.stderr), 'the first Ctrl-C to be acknowledged');
      child.kill('SIGINT');
      const r = await child.done;
      expect(r.stderr).toMatch(new RegExp(`Detached from batch ${id}`));
    } finally {
      child.kill('SIGKILL');
      await (
        await testClient()
      ).workflow
        .getHandle(`batch-${id}`)
        .terminate('test over')
        .catch(() => undefined);
    }
  });

  it('refuses an --on-complete-env that is not a variable name (exit 2)', async () => {
    const items = path.join(dir, 'two.txt');
    fs.writeFileSync(items, 'a red kite\n');
    const r = await runCli(['run', items, '--out', dir, '--on-complete-env', 'A=B'], {
      env: cliEnv(sim.env()),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--on-complete-env.*expected an environment variable's name/);
  });
});

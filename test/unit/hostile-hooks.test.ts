// Completion hooks against hostile ends, without a server: a webhook receiver that answers 200 and then streams a body
// that never ends (the delivery is done at the status, the body is not read), and a completion command that looks
// for the worker's secrets in its environment (it sees an allow-list, not everything but the known keys).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { COMMAND_ENV_VAR, createCompletionActivities } from '../../src/activities/completion';
import { applyCommandEnv } from '../../src/client/settings';
import type { BatchSummary } from '../../src/shared/batch-types';
import { failure } from '../helpers/failures';

const summary: BatchSummary = {
  batchId: 'b1',
  total: 1,
  succeeded: 1,
  failed: 0,
  cancelled: 0,
  skipped: 0,
  manifest: '/out/b1/manifest.json',
  status: 'completed',
  outcome: 'completed: 1 of 1 succeeded',
};

describe('a webhook receiver answering 200 with an endless body', () => {
  let server: http.Server;
  let url: string;
  let requests = 0;
  /** Resolves with the bytes of body the receiver had sent when the worker hung up. */
  let hungUp!: Promise<number>;
  beforeAll(async () => {
    let onHangUp!: (n: number) => void;
    hungUp = new Promise((r) => (onHangUp = r));
    server = http.createServer((req, res) => {
      requests++;
      req.resume();
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const piece = Buffer.alloc(64 * 1024, 'x');
      let sent = 0;
      let open = true;
      res.on('close', () => {
        open = false;
        onHangUp(sent);
      });
      // As fast as the worker reads, for ever: only a worker that stops reading ends it.
      const pump = () => {
        while (open && res.write(piece)) sent += piece.length;
        if (open) res.once('drain', pump);
      };
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => {
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  });

  it('is delivered once at the status, and the body is left unread (the worker hangs up)', async () => {
    const acts = createCompletionActivities({ env: {} });
    await new MockActivityEnvironment().run(acts.postWebhook, { url, summary, deliveryId: 'd' });
    expect(requests).toBe(1);
    // The receiver saw the connection closed by the worker, which it only does when it stops reading.
    expect(await hungUp).toBeGreaterThanOrEqual(0);
  });
});

describe("the completion command's environment", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-hook-env-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const workerEnv = {
    PATH: process.env.PATH,
    HOME: '/home/worker',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    TZ: 'UTC',
    AWS_SECRET_ACCESS_KEY: 'aws-secret',
    TEMPORAL_API_KEY: 'temporal-key',
    FAL_KEY: 'fal-key',
    IMAGEBATCH_WEBHOOK_SECRET: 'hook-secret',
    MY_BUCKET: 'bucket-name',
  };

  /** The environment the command saw, as NAME=value lines. */
  async function seen(env: NodeJS.ProcessEnv): Promise<Record<string, string>> {
    const out = path.join(dir, `env-${Math.random().toString(36).slice(2)}.txt`);
    const acts = createCompletionActivities({ env });
    await new MockActivityEnvironment().run(acts.runCompletionCommand, { command: `env > '${out}'`, summary });
    return Object.fromEntries(
      fs
        .readFileSync(out, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  }

  it('sees PATH, HOME, the locale and TZ, and none of the worker secrets it was not given', async () => {
    const env = await seen(workerEnv);
    expect(env).toMatchObject({ PATH: process.env.PATH, HOME: '/home/worker', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' });
    expect(env.TZ).toBe('UTC');
    expect(env.IMAGEBATCH_BATCH_ID).toBe('b1');
    for (const name of [
      'AWS_SECRET_ACCESS_KEY',
      'TEMPORAL_API_KEY',
      'FAL_KEY',
      'IMAGEBATCH_WEBHOOK_SECRET',
      'MY_BUCKET',
    ])
      expect(env[name], name).toBeUndefined();
  });

  it('sees what the worker names (--on-complete-env, IMAGEBATCH_ON_COMPLETE_ENV), and only that', async () => {
    const named: NodeJS.ProcessEnv = { ...workerEnv };
    applyCommandEnv({ onCompleteEnv: ['MY_BUCKET', 'AWS_SECRET_ACCESS_KEY'] }, named);
    expect(named[COMMAND_ENV_VAR]).toBe('MY_BUCKET,AWS_SECRET_ACCESS_KEY');
    const env = await seen(named);
    expect(env).toMatchObject({ MY_BUCKET: 'bucket-name', AWS_SECRET_ACCESS_KEY: 'aws-secret' });
    expect(env.TEMPORAL_API_KEY).toBeUndefined();
  });

  it('takes the names from the config when neither the flag nor the variable names any', async () => {
    const config = path.join(dir, 'config.json');
    fs.writeFileSync(config, JSON.stringify({ image_generation: { on_complete_env: ['MY_BUCKET'] } }));
    const env: NodeJS.ProcessEnv = {};
    applyCommandEnv({ config }, env);
    expect(env[COMMAND_ENV_VAR]).toBe('MY_BUCKET');
    fs.writeFileSync(config, JSON.stringify({ image_generation: { on_complete_env: ['NOT A NAME'] } }));
    expect(() => applyCommandEnv({ config }, {})).toThrow(/on_complete_env: expected a list of environment/);
  });

  it("redacts a secret it was given from its failure (its stderr's tail enters history)", async () => {
    const acts = createCompletionActivities({
      env: { PATH: process.env.PATH, API_TOKEN: 'tok-0123456789', [COMMAND_ENV_VAR]: 'API_TOKEN' },
    });
    const command = 'echo "auth with $API_TOKEN refused" >&2; exit 4';
    const f = await failure(new MockActivityEnvironment().run(acts.runCompletionCommand, { command, summary }));
    expect(f.message).toBe('the command exited with 4: auth with [redacted] refused');
  });
});

// The completion hooks' activities without a server: the webhook's signature, what each HTTP answer means for a
// retry (against a receiver on loopback), and the command with the summary on stdin.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createCompletionActivities } from '../../src/activities/completion';
import { judgeAnswer, signBody, verifySignature } from '../../src/activities/webhook';
import type { BatchSummary } from '../../src/shared/batch-types';
import { failure } from '../helpers/failures';

const summary: BatchSummary = {
  batchId: 'b1',
  total: 2,
  succeeded: 1,
  failed: 1,
  cancelled: 0,
  skipped: 0,
  manifest: '/out/b1/manifest.json',
  status: 'completed',
  outcome: 'completed with 1 failed: 1 of 2 succeeded',
};

describe('webhook signature', () => {
  it('is sha256=<hex HMAC-SHA256 of the body>, and a receiver verifies it in constant time', () => {
    const body = JSON.stringify(summary);
    const hex = createHmac('sha256', 's3cret').update(body).digest('hex');
    expect(signBody(body, 's3cret')).toBe(`sha256=${hex}`);
    expect(verifySignature(body, `sha256=${hex}`, 's3cret')).toBe(true);
    expect(verifySignature(body + ' ', `sha256=${hex}`, 's3cret')).toBe(false);
    expect(verifySignature(body, `sha256=${hex}`, 'other')).toBe(false);
    expect(verifySignature(body, undefined, 's3cret')).toBe(false);
    expect(verifySignature(body, 'sha256=00', 's3cret')).toBe(false);
  });

  it('answers: 2xx done; 4xx but 408 and 429 and a redirect given up; the rest retried, after Retry-After', () => {
    expect(judgeAnswer(204, null)).toEqual({ kind: 'done' });
    expect(judgeAnswer(400, null)).toMatchObject({ kind: 'give up' });
    expect(judgeAnswer(410, null)).toMatchObject({ kind: 'give up' });
    expect(judgeAnswer(302, null)).toMatchObject({ kind: 'give up' });
    expect(judgeAnswer(408, null)).toMatchObject({ kind: 'retry' });
    expect(judgeAnswer(429, '7')).toEqual({ kind: 'retry', why: 'HTTP 429', afterMs: 7000 });
    expect(judgeAnswer(503, null)).toEqual({ kind: 'retry', why: 'HTTP 503' });
  });
});

describe('postWebhook', () => {
  const got: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  let answer = 200;
  let server: http.Server;
  let url: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        got.push({ headers: req.headers, body });
        res.writeHead(answer, answer === 429 ? { 'retry-after': '3' } : {}).end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('POSTs the summary with the delivery id, signed with the secret of the worker', async () => {
    const acts = createCompletionActivities({ env: { IMAGEBATCH_WEBHOOK_SECRET: 'k' } });
    answer = 200;
    await new MockActivityEnvironment().run(acts.postWebhook, { url, summary, deliveryId: 'batch-b1/run-1' });
    const req = got.at(-1)!;
    expect(JSON.parse(req.body)).toEqual(summary);
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['x-imagebatch-delivery']).toBe('batch-b1/run-1');
    expect(verifySignature(req.body, req.headers['x-imagebatch-signature'] as string, 'k')).toBe(true);
  });

  it('sends no signature without a secret', async () => {
    const acts = createCompletionActivities({ env: {} });
    await new MockActivityEnvironment().run(acts.postWebhook, { url, summary, deliveryId: 'd' });
    expect(got.at(-1)!.headers['x-imagebatch-signature']).toBeUndefined();
  });

  it('a refusal is not retried; a 5xx, a 429 (after its Retry-After) and an unreachable receiver are', async () => {
    const acts = createCompletionActivities({ env: {} });
    const post = (to = url) =>
      new MockActivityEnvironment().run(acts.postWebhook, { url: to, summary, deliveryId: 'd' });
    answer = 403;
    expect(await failure(post())).toMatchObject({ type: 'WebhookRefused', nonRetryable: true, message: 'HTTP 403' });
    answer = 503;
    expect(await failure(post())).toMatchObject({ type: 'WebhookFailed', nonRetryable: false });
    answer = 429;
    expect(await failure(post())).toMatchObject({ type: 'WebhookFailed', nonRetryable: false, nextRetryDelay: 3000 });
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    expect(await failure(post(`http://127.0.0.1:${port}/`))).toMatchObject({ nonRetryable: false });
  });
});

describe('runCompletionCommand', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-hook-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs with sh -c, the summary JSON on stdin and the batch id and manifest in its environment', async () => {
    const acts = createCompletionActivities({
      env: { PATH: process.env.PATH, MINE: 'x', IMAGEBATCH_ON_COMPLETE_ENV: 'MINE' },
    });
    const out = path.join(dir, 'got.json');
    const command = `cat > '${out}'; echo "$IMAGEBATCH_BATCH_ID $IMAGEBATCH_MANIFEST $MINE" > '${out}.env'`;
    await new MockActivityEnvironment().run(acts.runCompletionCommand, { command, summary });
    expect(JSON.parse(fs.readFileSync(out, 'utf8'))).toEqual(summary);
    expect(fs.readFileSync(`${out}.env`, 'utf8').trim()).toBe('b1 /out/b1/manifest.json x');
  });

  it("a non-zero exit is a retryable failure with its stderr's tail; not reading stdin is fine", async () => {
    const acts = createCompletionActivities({ env: { PATH: process.env.PATH } });
    const command = `echo "${'x'.repeat(5000)}" >&2; echo "disk full" >&2; exit 3`;
    const f = await failure(new MockActivityEnvironment().run(acts.runCompletionCommand, { command, summary }));
    expect(f).toMatchObject({ type: 'CompletionCommandFailed', nonRetryable: false });
    expect(f.message).toMatch(/^the command exited with 3: …x+\ndisk full$/);
    expect(f.message.length).toBeLessThan(2100);
    await new MockActivityEnvironment().run(acts.runCompletionCommand, { command: 'true', summary });
  });
});

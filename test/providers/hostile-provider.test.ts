// A provider endpoint that answers too much: an error of a megabyte, a status body of several. What enters history
// is cut to a few KB, and a body over the cap is not read whole.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../../src/activities';
import { MAX_MESSAGE_CHARS } from '../../src/activities/failures';
import { providersFromEnv } from '../../src/providers';
import { httpJson, MAX_JSON_BYTES } from '../../src/providers/http';

let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url?.startsWith('/huge')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      // More than the cap, in pieces, as a slow hostile endpoint would send it.
      const piece = Buffer.alloc(64 * 1024, 'x');
      for (let i = 0; i < 64; i++) res.write(piece);
      res.end();
      return;
    }
    // DashScope's error shape with 900 KB of message.
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code: 'InvalidParameter', message: 'y'.repeat(900 * 1024), request_id: 'r' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('a hostile provider endpoint', () => {
  it('does not get a body over the cap read whole', async () => {
    await expect(httpJson(`${base}/huge`, { method: 'GET' })).rejects.toThrow(`over ${MAX_JSON_BYTES} bytes`);
  });

  it('puts at most a few KB of its error text into the failure that enters history', async () => {
    const acts = createActivities({
      providers: providersFromEnv({ DASHSCOPE_API_KEY: 'k', DASHSCOPE_HTTP_BASE_URL: base }),
    });
    const err = await new MockActivityEnvironment()
      .run(acts.submitImage, {
        provider: 'dashscope' as const,
        outDir: '/nonexistent',
        itemId: 'a',
        request: { prompt: 'p' },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    const failure = err as ApplicationFailure;
    expect(failure.type).toBe('InvalidRequest');
    expect(failure.message.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS + 10);
    expect(failure.message).toMatch(/\(cut\)$/);
  });
});

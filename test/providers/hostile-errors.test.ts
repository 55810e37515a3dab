// Provider endpoints that answer errors no provider should: an error over the answer cap (classified from what was
// read: its status, and the code a provider puts before its message, never as temporary), and an error that echoes
// the request's credentials (redacted before the failure leaves the activity).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../src/activities';
import { providersFromEnv } from '../../src/providers';
import { MAX_JSON_BYTES } from '../../src/providers/http';
import { OpenaiClient } from '../../src/providers/openai/client';
import { ProviderError } from '../../src/providers/types';
import { failure, rejectionOf } from '../helpers/failures';

const BIG = 'y'.repeat(2 * MAX_JSON_BYTES);
/** What each path answers: a status and a body (a string is sent as it is). */
const ANSWERS: Record<string, [number, unknown]> = {
  '/openai-moderated/images/generations': [400, { error: { code: 'moderation_blocked', message: BIG } }],
  '/openai-unauthorised/images/generations': [401, { error: { message: BIG } }],
  '/openai-html/images/generations': [400, `<html>${BIG}</html>`],
  '/dashscope-moderated/services/aigc/text2image/image-synthesis': [
    400,
    { code: 'DataInspectionFailed', message: BIG, request_id: 'r' },
  ],
  '/dashscope-invalid/services/aigc/text2image/image-synthesis': [
    400,
    { code: 'InvalidParameter', message: `"quoted \\u00e9 \\\\ ${BIG}` },
  ],
};

let server: http.Server;
let base: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    const auth = String(req.headers.authorization ?? '');
    if (req.url?.startsWith('/echo')) {
      // A provider that repeats the request's credentials in its error, as some gateways do.
      const key = auth.replace(/^(Bearer|Key) /, '');
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          code: 'InvalidApiKey',
          message: `Authorization: ${auth} refused; key ${key} is not valid (headers {"authorization":"${auth}"})`,
          detail: `invalid key ${key}; sent ${auth}`,
        }),
      );
      return;
    }
    const [status, body] = ANSWERS[req.url ?? ''] ?? [404, { error: 'no such path' }];
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('an error answer over the cap is classified from what was read', () => {
  const openai = (path: string) =>
    rejectionOf(new OpenaiClient({ baseUrl: `${base}/${path}`, apiKey: 'k' }).generate({ prompt: 'p' }), ProviderError);

  it('OpenAI-style: moderation from the code before the message, 401 unauthorised, 400 HTML invalid', async () => {
    expect((await openai('openai-moderated')).type).toBe('ContentRejected');
    expect((await openai('openai-unauthorised')).type).toBe('AuthFailed');
    expect((await openai('openai-html')).type).toBe('InvalidRequest');
  });

  it('DashScope: its code, before a message with escapes cut at the cap', async () => {
    const submit = (path: string) =>
      failure(
        new MockActivityEnvironment().run(
          createActivities({
            providers: providersFromEnv({ DASHSCOPE_API_KEY: 'k', DASHSCOPE_HTTP_BASE_URL: `${base}/${path}` }),
          }).submitImage,
          { provider: 'dashscope' as const, outDir: '/nonexistent', itemId: 'a', request: { prompt: 'p' } },
        ),
      );
    expect(await submit('dashscope-moderated')).toMatchObject({ type: 'ContentRejected', nonRetryable: true });
    expect(await submit('dashscope-invalid')).toMatchObject({ type: 'InvalidRequest', nonRetryable: true });
  });
});

describe('an error that echoes the credentials', () => {
  const FAL_KEY = 'fal-id-0123:fal-secret-abcdef987654';
  const DASHSCOPE_KEY = 'sk-dashscope-secret-5678';
  beforeAll(() => {
    // The worker's environment, where its credentials are (and where redaction looks for them).
    vi.stubEnv('FAL_KEY', FAL_KEY);
    vi.stubEnv('DASHSCOPE_API_KEY', DASHSCOPE_KEY);
  });
  afterAll(() => vi.unstubAllEnvs());

  it('leaves the activity with the credentials redacted, whatever shape they were echoed in', async () => {
    const acts = createActivities({
      providers: providersFromEnv({
        ...process.env,
        FAL_QUEUE_URL: `${base}/echo`,
        DASHSCOPE_HTTP_BASE_URL: `${base}/echo`,
      }),
    });
    for (const provider of ['fal', 'dashscope'] as const) {
      const f = await failure(
        new MockActivityEnvironment().run(acts.submitImage, {
          provider,
          outDir: '/nonexistent',
          itemId: 'a',
          request: { prompt: 'p' },
        }),
      );
      expect(f.type).toBe('AuthFailed');
      const everything = JSON.stringify({ message: f.message, stack: f.stack, details: f.details });
      for (const secret of [FAL_KEY, DASHSCOPE_KEY, 'fal-secret', 'dashscope-secret'])
        expect(everything, provider).not.toContain(secret);
      expect(f.message).toContain('[redacted]');
    }
  });
});

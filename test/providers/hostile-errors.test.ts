// Provider endpoints that answer errors no provider should: an error over the answer cap (classified from what was
// read: its status, and the code a provider puts before its message, never as temporary).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

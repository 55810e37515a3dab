// A relay answering several large OpenAI-style images at once: the worker reads only as many answers at a time as
// its answer budget holds (the rest wait in their sockets, unread), whatever the number of calls in flight.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ByteBudget } from '../../src/providers/answer-budget';
import { OpenaiClient } from '../../src/providers/openai/client';

const CALLS = 6;
/** Each answer: a JSON of about 4 MB (the image's base64). */
const ANSWER = Buffer.from(JSON.stringify({ created: 1, data: [{ b64_json: 'QUJD'.repeat(1024 * 1024) }] }));

let server: http.Server;
let base: string;
/** Whether the relay sends Content-Length (else chunked: the reader reserves the answer cap). */
let withLength = true;
let waiting: http.ServerResponse[] = [];
beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      // Every answer at once, once every call has arrived: they all want to be read together.
      waiting.push(res);
      if (waiting.length < CALLS) return;
      for (const r of waiting) {
        r.writeHead(200, {
          'content-type': 'application/json',
          ...(withLength ? { 'content-length': ANSWER.length } : {}),
        });
        r.end(ANSWER);
      }
      waiting = [];
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function generateAll(budget: ByteBudget) {
  const client = new OpenaiClient({ baseUrl: base, apiKey: 'k', answerBudget: budget });
  return Promise.all(Array.from({ length: CALLS }, () => client.generate({ prompt: 'p' })));
}

describe('answers in flight under the answer budget', () => {
  it('admits as many answers at once as fit (by Content-Length), and every call gets its image', async () => {
    withLength = true;
    const budget = new ByteBudget(2 * ANSWER.length + 1000);
    const answers = await generateAll(budget);
    expect(answers.map((a) => 'base64' in a.images[0] && a.images[0].base64.length)).toEqual(
      Array(CALLS).fill(4 * 1024 * 1024),
    );
    expect(budget.peak.holders).toBe(2);
    expect(budget.peak.bytes).toBeLessThanOrEqual(budget.total);
    expect(budget.waited).toBe(CALLS - 2);
  });

  it('an answer that does not say its length is admitted at the cap: one at a time under a smaller budget', async () => {
    withLength = false;
    const budget = new ByteBudget(8 * 1024 * 1024);
    await generateAll(budget);
    expect(budget.peak.holders).toBe(1);
    expect(budget.waited).toBe(CALLS - 1);
  });
});

describe('ByteBudget', () => {
  it('admits first come first served, all at once, and a waiter that gives up takes nothing', async () => {
    const b = new ByteBudget(10);
    const r1 = await b.reserve(6);
    const order: string[] = [];
    const big = b.reserve(8).then((r) => (order.push('big'), r));
    const gone = new AbortController();
    const aborted = b.reserve(1, gone.signal).catch(() => 'aborted');
    const small = b.reserve(2).then((r) => (order.push('small'), r));
    gone.abort();
    expect(await aborted).toBe('aborted');
    r1();
    (await big)();
    (await small)();
    // The small one fitted beside the first all along, but waited its turn behind the big one.
    expect(order).toEqual(['big', 'small']);
    expect(b.peak).toEqual({ bytes: 10, holders: 2 });
    // More than the whole budget is the whole budget, not a wait for ever.
    (await b.reserve(100))();
  });
});

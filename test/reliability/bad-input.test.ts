// Bad items files and bad flags: exit 2, a precise `file:line: field: message`, and no workflow started.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { cliEnv, runCli } from '../helpers/cli';
import { closeConnections, testClient } from '../helpers/temporal';
import { readItemsFile } from '../../src/items/reader';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-bad-'));
  fs.writeFileSync(path.join(dir, 'ref.png'), Buffer.from('89504e470d0a1a0a', 'hex'));
});
afterAll(closeConnections);

const line = (o: unknown) => JSON.stringify(o);
const huge = 'x'.repeat(150_000);

/** [name, file name, contents, expected message] */
const FILES: [string, string, string | Buffer, RegExp][] = [
  ['bad JSON', 'a.jsonl', '{"prompt": "a cat"\n', /a\.jsonl:1: not valid JSON/],
  [
    'bad JSON on a later line',
    'b.jsonl',
    `${line({ prompt: 'ok' })}\n{prompt: unquoted}\n`,
    /b\.jsonl:2: not valid JSON/,
  ],
  ['missing prompt', 'c.jsonl', `${line({ id: 'x' })}\n`, /c\.jsonl:1: prompt: is required/],
  ['empty prompt', 'd.jsonl', `${line({ prompt: '   ' })}\n`, /d\.jsonl:1: prompt: must not be empty/],
  ['prompt of the wrong type', 'e.jsonl', `${line({ prompt: 42 })}\n`, /e\.jsonl:1: prompt: .*string/i],
  ['width of the wrong type', 'f.jsonl', `${line({ prompt: 'a', width: '1024' })}\n`, /f\.jsonl:1: width: .*number/i],
  ['width too small', 'g.jsonl', `${line({ prompt: 'a', width: 10, height: 512 })}\n`, /g\.jsonl:1: width: .*64/],
  ['fractional seed', 'h.jsonl', `${line({ prompt: 'a', seed: 1.5 })}\n`, /h\.jsonl:1: seed: .*int/i],
  [
    'duplicate ids',
    'i.jsonl',
    `${line({ id: 'x', prompt: 'a' })}\n${line({ id: 'x', prompt: 'b' })}\n`,
    /i\.jsonl:2: id: 'x' is used already \(at line 1\)/,
  ],
  [
    'duplicate default ids',
    'i2.jsonl',
    `${line({ id: '2', prompt: 'a' })}\n${line({ prompt: 'b' })}\n`,
    /i2\.jsonl:2: id: '2' is used already/,
  ],
  ['unsafe id with a slash', 'j.jsonl', `${line({ id: 'a/b', prompt: 'a' })}\n`, /j\.jsonl:1: id: use 1-128 letters/],
  ['unsafe id ..', 'k.jsonl', `${line({ id: '..', prompt: 'a' })}\n`, /k\.jsonl:1: id: use 1-128 letters/],
  [
    '../ filename',
    'l.jsonl',
    `${line({ prompt: 'a', filename: '../evil.png' })}\n`,
    /l\.jsonl:1: filename: must be a plain file name/,
  ],
  [
    'absolute filename',
    'm.jsonl',
    `${line({ prompt: 'a', filename: '/etc/x.png' })}\n`,
    /m\.jsonl:1: filename: must be a plain file name/,
  ],
  [
    'filename with another extension',
    'n.jsonl',
    `${line({ prompt: 'a', filename: 'x.exe' })}\n`,
    /n\.jsonl:1: filename: must end in \.png/,
  ],
  [
    'unknown provider',
    'o.jsonl',
    `${line({ prompt: 'a', provider: 'midjourney' })}\n`,
    /o\.jsonl:1: provider: must be one of volcengine, dashscope/,
  ],
  [
    'unknown field with a typo',
    'p.jsonl',
    `${line({ prompt: 'a', negative_prompt: 'b' })}\n`,
    /p\.jsonl:1: negative_prompt: unknown field \(did you mean 'negativePrompt'\?\)/,
  ],
  [
    'unknown field, no suggestion',
    'q.jsonl',
    `${line({ prompt: 'a', zzzzzzzz: 1 })}\n`,
    /q\.jsonl:1: zzzzzzzz: unknown field$/m,
  ],
  [
    'typo in prompt',
    'r.jsonl',
    `${line({ promt: 'a' })}\n`,
    /r\.jsonl:1: promt: unknown field \(did you mean 'prompt'\?\)/,
  ],
  [
    'unreadable reference image',
    's.jsonl',
    `${line({ prompt: 'a', referenceImages: ['nope.png'] })}\n`,
    /s\.jsonl:1: referenceImages\.0: cannot read 'nope\.png'/,
  ],
  [
    'non-http reference URL',
    't.jsonl',
    `${line({ prompt: 'a', referenceImages: ['ftp://x/y.png'] })}\n`,
    /t\.jsonl:1: referenceImages\.0: only http\(s\) URLs/,
  ],
  [
    'huge line',
    'u.jsonl',
    `${line({ prompt: huge })}\n`,
    /u\.jsonl:1: item is \d+ bytes of JSON, over the 100000-byte/,
  ],
  [
    'prompt over 4000 characters',
    'v.jsonl',
    `${line({ prompt: 'y'.repeat(5000) })}\n`,
    /v\.jsonl:1: prompt: is over 4000 characters/,
  ],
  ['binary garbage', 'w.jsonl', Buffer.from([0x00, 0xff, 0x13, 0x37, 0x00, 0x42]), /w\.jsonl: is a binary file/],
  [
    'invalid UTF-8',
    'w2.jsonl',
    Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d, 0x0a]),
    /w2\.jsonl:1: is not valid UTF-8/,
  ],
  ['empty file', 'x.jsonl', '', /x\.jsonl: has no items/],
  ['only blank lines', 'x2.txt', '\n\n  \n', /x2\.txt: has no items/],
  ['an array line in jsonl', 'y.jsonl', '[1,2]\n', /y\.jsonl:1: expected an object with at least a "prompt"/],
  [
    'JSON that is not an array',
    'z.json',
    line({ prompt: 'a' }),
    /z\.json: expected a JSON array of items, or an imagebatch manifest/,
  ],
  [
    'bad element in a JSON array, with its line',
    'z2.json',
    `[\n  {"prompt": "a"},\n  {"prompt": ""}\n]\n`,
    /z2\.json:3: prompt: must not be empty/,
  ],
  ['unsupported extension', 'items.csv', 'prompt\na cat\n', /items\.csv: unsupported file type '\.csv'/],
  [
    'params not an object',
    'pa.jsonl',
    `${line({ prompt: 'a', params: [1] })}\n`,
    /pa\.jsonl:1: params: .*record|object/i,
  ],
  [
    'width without height',
    'wh.jsonl',
    `${line({ prompt: 'a', height: 512 })}\n`,
    /wh\.jsonl:1: width: is required with height/,
  ],
  [
    'a prompt of only Midjourney flags',
    'mj.jsonl',
    `${line({ prompt: '--ar 16:9 --v 6' })}\n`,
    /mj\.jsonl:1: prompt: has nothing left once its Midjourney flags/,
  ],
  [
    'params that override force_single',
    'fs.jsonl',
    `${line({ prompt: 'a' })}\n${line({ prompt: 'b', params: { force_single: false } })}\n`,
    /fs\.jsonl:2: params\.force_single: is set by imagebatch for volcengine/,
  ],
  [
    'params that override the DashScope model',
    'dm.jsonl',
    `${line({ prompt: 'a', provider: 'dashscope', params: { model: 'wanx-v1' } })}\n`,
    /dm\.jsonl:1: params\.model: is set by imagebatch for dashscope/,
  ],
  [
    'two items with one filename',
    'fn.jsonl',
    `${line({ prompt: 'a', filename: 'x.png' })}\n${line({ prompt: 'b', filename: 'x.png' })}\n`,
    /fn\.jsonl:2: filename: 'x\.png' is the same file as line 1's 'x\.png'/,
  ],
  [
    "a filename equal to another item's default name, in another case",
    'fd.jsonl',
    `${line({ id: 'cat', prompt: 'a' })}\n${line({ prompt: 'b', filename: 'CAT.png' })}\n`,
    /fd\.jsonl:2: filename: 'CAT\.png' is the same file as line 1's 'cat\.png'/,
  ],
  [
    'an expectedLatencyMs of 2^53',
    'el.jsonl',
    `${line({ prompt: 'a', policy: { expectedLatencyMs: 2 ** 53 } })}\n`,
    /el\.jsonl:1: policy\.expectedLatencyMs: must be at most 86400000 \(24 hours\)/,
  ],
  [
    'a maxWaitMs of 1e308',
    'mw.jsonl',
    '{"prompt": "a", "policy": {"maxWaitMs": 1e308}}\n',
    /mw\.jsonl:1: policy\.maxWaitMs: must be at most 86400000/,
  ],
  [
    'an item over 100 KB in a .json array',
    'big.json',
    `[\n${line({ prompt: 'a' })},\n${line({ prompt: 'b', params: { x: huge } })}\n]\n`,
    /big\.json:3: item is \d+ bytes of JSON, over the 100000-byte limit/,
  ],
  [
    'policy with a bad value',
    'po.jsonl',
    `${line({ prompt: 'a', policy: { retries: -1 } })}\n`,
    /po\.jsonl:1: policy\.retries: .*0/,
  ],
];

/** Files that are fine despite their shape: a BOM, a U+FFFD that is text, CRLF line ends. */
const GOOD: [string, string, string][] = [
  ['BOM', 'bom.jsonl', `\uFEFF${line({ prompt: 'a' })}\n`],
  ['U+FFFD written as a character', 'fffd.jsonl', `${line({ prompt: 'a \uFFFD b' })}\n`],
  ['CRLF', 'crlf.jsonl', `${line({ prompt: 'a' })}\r\n${line({ prompt: 'b' })}\r\n`],
];

let n = 0;
async function expectNothingStarted(batchId: string) {
  const client = await testClient();
  const err = await client.workflow
    .getHandle(`batch-${batchId}`)
    .describe()
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowNotFoundError);
}

describe('bad items files', () => {
  it.each(FILES)('%s: exit 2, a precise message, nothing started', async (_name, file, contents, message) => {
    const p = path.join(dir, file);
    fs.writeFileSync(p, contents);
    const batchId = `bad-${process.pid}-${++n}`;
    const r = await runCli(['run', p, '--out', path.join(dir, 'out'), '--batch-id', batchId], { env: cliEnv() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    // The file is named as it was given, not by its base name.
    expect(r.stderr).toContain(`${p}:`);
    expect(r.stderr).toMatch(/problem\(s\) in the items file; nothing was started\.$/m);
    expect(r.stdout).toBe('');
    await expectNothingStarted(batchId);
  });

  it('reports every problem in a file, not just the first', async () => {
    const p = path.join(dir, 'many.jsonl');
    fs.writeFileSync(p, `${line({ id: 'a/b', prompt: 'x' })}\n${line({ prompt: '' })}\nnot json\n`);
    const r = await runCli(['run', p, '--out', path.join(dir, 'out')], { env: cliEnv() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/many\.jsonl:1: id:/);
    expect(r.stderr).toMatch(/many\.jsonl:2: prompt:/);
    expect(r.stderr).toMatch(/many\.jsonl:3: not valid JSON/);
    expect(r.stderr).toMatch(/3 problem\(s\) in the items file; nothing was started/);
  });

  it.each(GOOD)('accepts a file with a %s', async (_name, file, contents) => {
    const p = path.join(dir, file);
    fs.writeFileSync(p, contents);
    expect(readItemsFile(p).items.map((i) => i.prompt).length).toBeGreaterThan(0);
  });
});

describe('bad flags', () => {
  const items = () => {
    const p = path.join(dir, 'ok.jsonl');
    fs.writeFileSync(p, `${line({ prompt: 'a' })}\n`);
    return p;
  };
  it.each([
    ['--concurrency 0', ['--concurrency', '0'], /--concurrency.*expected a whole number from 1 to 2000, got '0'/],
    ['--concurrency -3', ['--concurrency', '-3'], /expected a whole number from 1 to 2000, got '-3'/],
    ['--concurrency abc', ['--concurrency', 'abc'], /got 'abc'/],
    ['--poll-interval 0', ['--poll-interval', '0'], /expected seconds >= 0.1/],
    ['--retries 99', ['--retries', '99'], /from 0 to 20/],
    [
      '--provider midjourney',
      ['--provider', 'midjourney'],
      /--provider: 'midjourney' is not one of simulator, volcengine, dashscope/,
    ],
    ['--batch-id with a slash', ['--batch-id', 'a/b'], /--batch-id 'a\/b'/],
    ['an unknown flag', ['--frobnicate'], /unknown option '--frobnicate'/],
  ])('%s: exit 2', async (_name, flags, message) => {
    const r = await runCli(['run', items(), '--out', path.join(dir, 'out'), ...flags], { env: cliEnv() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('a missing --out: exit 2', async () => {
    const r = await runCli(['run', items()], { env: cliEnv() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out/);
  });

  it('a bad IMAGE_GENERATION_MAX_CONCURRENT: exit 2', async () => {
    const r = await runCli(['run', items(), '--out', path.join(dir, 'out')], {
      env: cliEnv({ IMAGE_GENERATION_MAX_CONCURRENT: 'lots' }),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/IMAGE_GENERATION_MAX_CONCURRENT=lots: expected a number/);
  });
});

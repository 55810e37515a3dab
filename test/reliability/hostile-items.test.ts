// Hostile items files through the CLI: references that reach outside the items folder (unless --refs-dir allows
// it), files and references that would block or exhaust the reader, and problems that try to send terminal
// escapes. Bad ones exit 2 before anything starts; the allowed ones run to the end against the simulator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import { cliEnv, runCli } from '../helpers/cli';
import { jsonl, refsLayout } from '../helpers/items-fixture';
import { closeConnections, testClient } from '../helpers/temporal';

let sim: ProviderSimulator;
let root: string;
let items: string;
let refs: string;
let n = 0;

beforeAll(async () => {
  sim = await startSimulator({ latencyMs: 50 });
  ({ root, items, outside: refs } = refsLayout('ib-hostile-'));
});
afterAll(async () => {
  await sim.close();
  await closeConnections();
  fs.rmSync(root, { recursive: true, force: true });
});

const fast = ['--poll-interval', '0.2', '--max-wait', '30'];

function itemsFile(contents: string | Buffer, ext = 'jsonl'): string {
  const file = path.join(items, `h${++n}.${ext}`);
  fs.writeFileSync(file, contents);
  return file;
}

/** `imagebatch run` against the test's simulator; `cmd` 'start' returns at once. */
async function run(file: string, extra: string[] = [], cmd = 'run') {
  const batchId = `hostile-${process.pid}-${++n}`;
  const r = await runCli([cmd, file, '--out', path.join(root, 'out'), '--batch-id', batchId, ...fast, ...extra], {
    env: cliEnv(sim.env()),
  });
  return { ...r, batchId };
}

async function expectRefused(r: Awaited<ReturnType<typeof run>>, message: RegExp) {
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stdout).toBe('');
  const client = await testClient();
  const err = await client.workflow
    .getHandle(`batch-${r.batchId}`)
    .describe()
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowNotFoundError);
}

describe('reference images reach only the items folder and --refs-dir', () => {
  it('an absolute path elsewhere: exit 2 with the line', async () => {
    const file = itemsFile(jsonl({ prompt: 'a' }, { prompt: 'b', referenceImages: [path.join(refs, 'face.png')] }));
    await expectRefused(await run(file), /h\d+\.jsonl:2: referenceImages\.0: '.*face\.png' is outside/);
  });

  it('a symlink out of the items folder: exit 2 naming where it leads', async () => {
    const file = itemsFile(jsonl({ prompt: 'a', referenceImages: ['face-link.png'] }));
    await expectRefused(await run(file), /:1: referenceImages\.0: 'face-link\.png' \(it resolves to '.*face\.png'\)/);
  });

  it('start refuses it the same way', async () => {
    const file = itemsFile(jsonl({ prompt: 'a', referenceImages: ['/etc/hostname'] }));
    await expectRefused(await run(file, [], 'start'), /:1: referenceImages\.0: '\/etc\/hostname' is outside/);
  });

  it('a --refs-dir that is not a folder: exit 2', async () => {
    const file = itemsFile(jsonl({ prompt: 'a' }));
    await expectRefused(await run(file, ['--refs-dir', path.join(root, 'nope')]), /--refs-dir .*not a folder/);
  });

  it('with --refs-dir, the file (and a symlink into it) is uploaded and the batch succeeds', async () => {
    const file = itemsFile(
      jsonl(
        { prompt: 'refs dir absolute', referenceImages: [path.join(refs, 'face.png')] },
        { prompt: 'refs dir via link', referenceImages: ['face-link.png'] },
      ),
    );
    const r = await run(file, ['--refs-dir', refs]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(sim.stats().referenceImages).toMatchObject({ 'refs dir absolute': 1, 'refs dir via link': 1 });
  });

  it('a FIFO as a reference is refused at once, not read', async () => {
    execFileSync('mkfifo', [path.join(items, 'pipe.png')]);
    const file = itemsFile(jsonl({ prompt: 'a', referenceImages: ['pipe.png'] }));
    await expectRefused(await run(file), /:1: referenceImages\.0: 'pipe\.png' is not a regular file/);
  });
});

describe('files that would block or exhaust the reader', () => {
  it('a FIFO as the items file: exit 2, no wait', async () => {
    const file = path.join(items, 'fifo.jsonl');
    execFileSync('mkfifo', [file]);
    await expectRefused(await run(file), /fifo\.jsonl: is not a regular file/);
  });

  it('a .json file over 100 MB: exit 2 before it is read', async () => {
    const file = itemsFile('[]', 'json');
    fs.truncateSync(file, 150_000_000);
    await expectRefused(await run(file), /: is 150000000 bytes, over the 100000000-byte limit for a \.json file/);
  });

  it('over 1,000,000 items: exit 2', async () => {
    const file = itemsFile('a cat\n'.repeat(1_000_001), 'txt');
    await expectRefused(await run(file), /: has 1000001 items, over the 1000000 limit/);
  });
});

describe('echoed text', () => {
  it('field names, values and paths reach the terminal without escapes', async () => {
    const clipboard = '\u001b]52;c;ZWNobyBwd25lZA==\u0007';
    const file = itemsFile(
      jsonl(
        { prompt: 'a', [`x${clipboard}\u001b[2J`]: 1 },
        { prompt: 'b', referenceImages: [`\u001b[1A\u001b[2KAll 6 images OK\u009b0m.png`] },
        { id: 'bad\u001b[31m', prompt: 'c' },
        { prompt: 'd', filename: '\u001bc.png' },
      ),
    );
    const r = await run(file);
    await expectRefused(r, /4 problem\(s\) in the items file/);
    expect(r.stderr.replace(/[\t\n]/g, '')).not.toMatch(/\p{Cc}/u);
    expect(r.stderr).toMatch(/:1: x: unknown field/);
  });
});

describe('text that is valid', () => {
  it('a UTF-8 file with U+FFFD written in a prompt runs', async () => {
    const r = await run(itemsFile(jsonl({ prompt: 'a replacement character \uFFFD in a prompt' })));
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
});

// Refused before anything starts, exit 2: an --endpoint that is not an http(s) URL, and a `run --out` whose batch
// folder cannot be created or written (a file in the way, a read-only filesystem: a real read-only tmpfs, needs
// root). `start` does not check --out: its workers may see another filesystem.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import { expectNothingStarted } from '../e2e/batch-cleanup';
import { cliEnv, runCli } from '../helpers/cli';
import { closeConnections, testClient, uniqueQueue } from '../helpers/temporal';

let sim: ProviderSimulator;
let dir: string;
let file: string;
let mounted: string | undefined;
let n = 0;
const batchId = () => `preflight-${++n}-${process.pid}`;

beforeAll(async () => {
  sim = await startSimulator({ latencyMs: 100 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-preflight-'));
  file = path.join(dir, 'one.txt');
  fs.writeFileSync(file, 'a lighthouse at dusk\n');
});
afterEach(() => {
  if (mounted) execFileSync('umount', ['-l', mounted]);
  mounted = undefined;
});
afterAll(async () => {
  await sim.close();
  await closeConnections();
});

async function expectNothingRan(id: string) {
  await expectNothingStarted(id);
  expect(sim.stats().submissions).toBe(0);
}

describe('--endpoint', () => {
  it.each([
    ['run', 'file:///etc/passwd'],
    ['run', 'garbage'],
    ['start', 'ftp://example.com'],
    ['worker', 'file:///tmp'],
  ])('%s --endpoint %s: exit 2 at once', async (cmd, url) => {
    const id = batchId();
    const args = cmd === 'worker' ? ['worker'] : [cmd, file, '--out', dir, '--batch-id', id];
    const r = await runCli([...args, '--endpoint', url], { env: cliEnv(sim.env()) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`expected an http:// or https:// URL, got '${url}'`);
    if (cmd !== 'worker') await expectNothingRan(id);
  });
});

describe('run --out', () => {
  it('under a file: exit 2 with the reason, nothing started', async () => {
    const inTheWay = path.join(dir, 'a-file');
    fs.writeFileSync(inTheWay, 'not a folder');
    const id = batchId();
    const r = await runCli(['run', file, '--out', path.join(inTheWay, 'out'), '--batch-id', id], {
      env: cliEnv(sim.env()),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--out: cannot create or write the batch folder`);
    expect(r.stderr).toContain(`${inTheWay} is not a folder`);
    await expectNothingRan(id);
  });

  it('on a read-only filesystem: exit 2 with the reason, nothing started or created', async () => {
    if (process.getuid?.() !== 0) throw new Error('this test mounts a read-only tmpfs and needs root');
    const ro = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-ro-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,ro', 'tmpfs', ro]);
    mounted = ro;
    const id = batchId();
    const r = await runCli(['run', file, '--out', path.join(ro, 'out'), '--batch-id', id], {
      env: cliEnv(sim.env()),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${ro} cannot be written (read-only file system)`);
    await expectNothingRan(id);
  });

  it('is not checked by start: its workers may see another filesystem', async () => {
    const id = batchId();
    const r = await runCli(
      ['start', file, '--out', '/nonexistent-on-this-machine/out', '--batch-id', id, '--task-queue', uniqueQueue('x')],
      { env: cliEnv(sim.env()) },
    );
    expect(r.code).toBe(0);
    await (await testClient()).workflow.getHandle(`batch-${id}`).terminate('test cleanup');
  });
});

// Which provider works a batch: nothing falls back to the simulator but `run` without --provider and without any
// credentials (and the simulator asked for by name); a real provider's `start` needs no keys here, its workers do;
// a simulated batch says so in its summary, its --json and its manifest.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { batchInputOf } from '../../src/client/batch-lookup';
import { simulatorAndFolder, terminatedAfterEach, expectNothingStarted } from './batch-cleanup';
import { cliEnv, runCli, spawnCli } from '../helpers/cli';
import { waitFor } from '../helpers/image-env';
import { testClient, uniqueQueue } from '../helpers/temporal';

const fx = simulatorAndFolder('ib-provider-');
let n = 0;
const fast = ['--poll-interval', '0.2', '--max-wait', '30'];
const batchId = (prefix: string) => `${prefix}-${++n}-${process.pid}`;

const leftRunning = terminatedAfterEach();

function items(name: string, prompts: string[]): string {
  const file = path.join(fx.dir, name);
  fs.writeFileSync(file, prompts.join('\n') + '\n');
  return file;
}

describe('a real provider never becomes the simulator', () => {
  it.each([
    ['dashscope', /--provider dashscope: DASHSCOPE_API_KEY is not set/],
    ['volcengine', /--provider volcengine: VOLC_ACCESSKEY and VOLC_SECRETKEY are not set/],
  ])('run --provider %s without its credentials: exit 2 naming them, nothing started', async (provider, message) => {
    const id = batchId('run-nokey');
    // The other provider's credentials do not stand in.
    const other =
      provider === 'dashscope' ? { VOLC_ACCESSKEY: 'ak', VOLC_SECRETKEY: 'sk' } : { DASHSCOPE_API_KEY: 'k' };
    const r = await runCli(
      ['run', items('one.txt', ['a lighthouse']), '--out', fx.dir, '--batch-id', id, '--provider', provider],
      { env: cliEnv(other) },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/simulator at/);
    await expectNothingStarted(id);
  });

  it('start without --provider and without credentials: exit 2 naming them and --provider simulator', async () => {
    const id = batchId('start-nokey');
    const r = await runCli(['start', items('one.txt', ['a lighthouse']), '--out', fx.dir, '--batch-id', id], {
      env: cliEnv(),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/VOLC_ACCESSKEY and VOLC_SECRETKEY .*DASHSCOPE_API_KEY/);
    expect(r.stderr).toMatch(/--provider simulator/);
    await expectNothingStarted(id);
  });

  it('start --provider volcengine without keys: the real batch on the real queue, run by a worker that has them', async () => {
    const queue = uniqueQueue('real');
    const id = batchId('start-real');
    const out = path.join(fx.dir, 'out');
    leftRunning.push(id);
    const r = await runCli(
      [
        'start',
        items('two.txt', ['a red kite', 'a blue boat']),
        '--out',
        out,
        '--batch-id',
        id,
        '--provider',
        'volcengine',
        ...fast,
      ],
      { env: cliEnv({ IMAGEBATCH_TASK_QUEUE: queue }) },
    );
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(id);
    expect(r.stderr).toMatch(/VOLC_ACCESSKEY and VOLC_SECRETKEY are not set here: a worker that has them runs this/);
    expect(r.stderr).toContain(`no worker polls task queue '${queue}' yet`);
    const client = await testClient();
    const handle = client.workflow.getHandle(`batch-${id}`);
    expect((await handle.describe()).taskQueue).toBe(queue);
    const input = await batchInputOf(client, handle);
    expect(input.provider).toBe('volcengine');
    expect(input.simulated).toBeUndefined();

    // A worker with credentials (the test's simulator, reached as the real API) runs it.
    const workerEnv = cliEnv({ ...fx.sim.env(), IMAGEBATCH_TASK_QUEUE: queue });
    const worker = spawnCli(['worker'], { env: workerEnv });
    try {
      const watch = await runCli(['watch', id, '--json'], { env: workerEnv });
      expect(watch.code).toBe(0);
      expect(JSON.parse(watch.stdout)).toMatchObject({ status: 'completed', counts: { succeeded: 2 } });
      expect(JSON.parse(watch.stdout).simulated).toBeUndefined();
      const manifest = JSON.parse(fs.readFileSync(path.join(out, id, 'manifest.json'), 'utf8'));
      expect(manifest.simulated).toBeUndefined();
    } finally {
      worker.kill('SIGINT');
      await worker.done;
    }
  });

  it('worker without any credentials: exit 2 naming them; --provider simulator polls', async () => {
    const r = await runCli(['worker'], { env: cliEnv() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /no provider credentials are set: set VOLC_ACCESSKEY and VOLC_SECRETKEY .*DASHSCOPE_API_KEY/,
    );
    expect(r.stderr).toMatch(/--provider simulator/);
    const worker = spawnCli(['worker', '--provider', 'simulator'], { env: cliEnv() });
    try {
      await waitFor(() => /polling task queue '[^']*-simulator'/.test(worker.output.stderr), 'the simulator worker');
    } finally {
      worker.kill('SIGINT');
    }
    expect((await worker.done).code).toBe(0);
  });
});

describe('a simulated batch says so', () => {
  it('run without any credentials: summary, --json and manifest say simulated; a real run does not', async () => {
    const file = items('sim.txt', ['a small house']);
    const id = batchId('simulated');
    const r = await runCli(['run', file, '--out', fx.dir, '--batch-id', id, '--json', ...fast], { env: cliEnv() });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/no provider credentials are set .*built-in provider simulator/);
    expect(JSON.parse(r.stdout)).toMatchObject({ batchId: id, status: 'completed', simulated: true });
    expect(JSON.parse(fs.readFileSync(path.join(fx.dir, id, 'manifest.json'), 'utf8')).simulated).toBe(true);

    const plain = await runCli(['run', file, '--out', fx.dir, '--batch-id', batchId('simulated'), ...fast], {
      env: cliEnv(),
    });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/Simulated: the images come from the provider simulator/);

    const realId = batchId('real');
    const real = await runCli(['run', file, '--out', fx.dir, '--batch-id', realId, '--json', ...fast], {
      env: cliEnv(fx.sim.env()),
    });
    expect(real.code).toBe(0);
    expect(JSON.parse(real.stdout).simulated).toBeUndefined();
    expect(JSON.parse(fs.readFileSync(path.join(fx.dir, realId, 'manifest.json'), 'utf8')).simulated).toBeUndefined();
  });
});

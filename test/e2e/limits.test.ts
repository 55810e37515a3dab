// Provider accounts, limits and budgets from the command line: `imagebatch limit` sets and lists the limit of the
// account these credentials name, a worker's starting limit comes from the environment, status shows the images
// waiting for a slot, a batch stops at its submission budget and `resume` continues it (working the batch itself
// when no worker is left), and numeric settings out of bounds are refused, naming where they came from.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { accountOf } from '../../src/providers/account';
import { providersFromEnv } from '../../src/providers';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import { cliEnv, runCli, spawnCli } from '../helpers/cli';
import { waitFor } from '../helpers/image-env';
import { closeConnections, testClient } from '../helpers/temporal';
import { terminateBatchAndImages } from '../helpers/batch';
import { knobsFrom } from '../helpers/simulator-knobs';

let sim: ProviderSimulator;
let dir: string;
let n = 0;
const BASE_KNOBS = { latencyMs: 100 };

beforeAll(async () => {
  sim = await startSimulator(BASE_KNOBS);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-limits-'));
});
beforeEach(() => sim.setKnobs(knobsFrom(BASE_KNOBS)));
/** Batches (by id) and accounts (by workflow id) a test leaves open: terminated after it. */
const leftOpen: string[] = [];
afterEach(async () => {
  const client = await testClient();
  const terminate = (workflowId: string) =>
    client.workflow
      .getHandle(workflowId)
      .terminate('test cleanup')
      .catch(() => undefined);
  for (const id of leftOpen.splice(0)) {
    if (id.startsWith('account-')) {
      await terminate(id);
      continue;
    }
    await terminateBatchAndImages(client, id);
  }
});
afterAll(async () => {
  await sim.close();
  await closeConnections();
});

/**
 * The CLI in "real provider" mode against the test's simulator, on a task queue of its own (one per call: the
 * processes of one test share one env, and so its accounts). An account with no worker answers within 3 s.
 */
const simEnv = (extra: Record<string, string> = {}) =>
  cliEnv({ ...sim.env(), IMAGEBATCH_CONTROL_TIMEOUT_MS: '3000', ...extra });
const fast = ['--poll-interval', '0.2', '--max-wait', '30'];
const batchId = (prefix: string) => `${prefix}-${++n}-${process.pid}`;

/** The account the CLI's workers open for env's credentials, endpoint and task queue. */
function accountIdOf(env: NodeJS.ProcessEnv): string {
  const id = accountOf('volcengine', providersFromEnv(env), env.IMAGEBATCH_TASK_QUEUE!).workflowId;
  leftOpen.push(id);
  return id;
}

function write(name: string, lines: string[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}
const prompts = (k: number, what: string) => Array.from({ length: k }, (_, i) => `${what} number ${i + 1}`);

/** Runs `fn` while a long-running `imagebatch worker` with env serves its queue, then ends it as Ctrl-C would. */
async function withWorker(env: NodeJS.ProcessEnv, fn: () => Promise<void>): Promise<void> {
  const worker = spawnCli(['worker'], { env });
  try {
    await fn();
  } finally {
    worker.kill('SIGINT');
    await worker.done;
  }
}

/** A batch id whose batch is terminated after the test, if still open. */
function openBatchId(prefix: string): string {
  const id = batchId(prefix);
  leftOpen.push(id);
  return id;
}

/** `imagebatch limit --json`'s entry for the account, once it is listed and `ready` holds for it. */
async function listed(env: NodeJS.ProcessEnv, accountId: string, ready: (e: any) => boolean) {
  return waitFor(async () => {
    const r = await runCli(['limit', '--json'], { env });
    if (r.code !== 0) throw new Error(`limit --json: exit ${r.code}: ${r.stderr}`);
    const entry = JSON.parse(r.stdout).find((e: any) => e.account.workflowId === accountId);
    return entry && ready(entry) ? entry : undefined;
  }, `account ${accountId} to be listed as wanted`);
}

/** `imagebatch <args> --json` once `ready` holds for its document. */
async function jsonOnce(args: string[], env: NodeJS.ProcessEnv, ready: (doc: any) => boolean) {
  return waitFor(
    async () => {
      const r = await runCli([...args, '--json'], { env });
      const doc = r.stdout ? JSON.parse(r.stdout) : undefined;
      return doc && ready(doc) ? { ...r, doc } : undefined;
    },
    `${args.join(' ')} to show what is wanted`,
  );
}

describe('imagebatch limit', () => {
  it('starts the account with a limit, refuses without a worker, then changes, lists and clears it', async () => {
    const env = simEnv();
    const queue = env.IMAGEBATCH_TASK_QUEUE!;
    const accountId = accountIdOf(env);
    const set = await runCli(['limit', 'volcengine', '2'], { env });
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/^volcengine at 127\.0\.0\.1:\d+ \(key [0-9a-f]{8}\): limit 2; started the account/);
    // Open now, but nothing serves it: nothing changes.
    const idle = await runCli(['limit', 'volcengine', '3'], { env });
    expect(idle.code).toBe(4);
    expect(idle.stderr).toContain(`no worker polls task queue '${queue}'`);

    await withWorker(env, async () => {
      const entry = await listed(env, accountId, (e) => e.limit === 2);
      expect(entry).toMatchObject({ taskQueue: queue, setLimit: 2, learnedLimit: null, inFlight: 0, waiting: 0 });
      const change = await runCli(['limit', 'volcengine', '3'], { env });
      expect(change.code).toBe(0);
      expect(change.stdout).toMatch(/\): limit 3 \(was set 2\), 0 in flight, 0 waiting$/m);
      const clear = await runCli(['limit', 'volcengine', 'none', '--json'], { env });
      expect(clear.code).toBe(0);
      expect(JSON.parse(clear.stdout)).toMatchObject({
        account: { workflowId: accountId },
        setLimit: null,
        limit: null,
        previous: { setLimit: 3 },
      });
    });
  });

  it.each([
    ['the simulator', ['simulator', '2'], /the built-in simulator is not an account you can set/],
    ['a limit of 0', ['volcengine', '0'], /N: expected a whole number from 1 to 1000, got '0'/],
    ['an unknown provider', ['midjourney', '2'], /'midjourney' is not one of volcengine, dashscope/],
    ['N and --clear', ['volcengine', '2', '--clear'], /not both/],
  ])('refuses %s: exit 2', async (_name, args, message) => {
    const r = await runCli(['limit', ...args], { env: simEnv() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('refuses to set a limit without credentials: they name the account', async () => {
    const r = await runCli(['limit', 'volcengine', '2'], { env: cliEnv() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/VOLC_ACCESSKEY and VOLC_SECRETKEY are not set/);
  });
});

describe('accounts and budgets of batches', () => {
  it("a worker's starting limit comes from the environment; status shows the image waiting for a slot", async () => {
    // Images stay in flight until the batch is cancelled.
    sim.setKnobs({ latencyMs: 60_000 });
    const env = simEnv({ IMAGEBATCH_VOLCENGINE_MAX_IN_FLIGHT: '1' });
    const accountId = accountIdOf(env);
    const id = openBatchId('slots');
    await withWorker(env, async () => {
      const items = write('slots.txt', prompts(2, 'a slow lighthouse'));
      const start = await runCli(
        ['start', items, '--out', path.join(dir, 'out'), '--batch-id', id, '--concurrency', '2'],
        {
          env,
        },
      );
      expect(start.code).toBe(0);
      const { doc } = await jsonOnce(['status', id], env, (d) => d.accounts?.[0]?.waitingForThisBatch === 1);
      expect(doc).toMatchObject({ status: 'running', counts: { total: 2 } });
      expect(doc.accounts).toEqual([
        { label: expect.stringMatching(/^volcengine at 127\.0\.0\.1/), limit: 1, inFlight: 1, waitingForThisBatch: 1 },
      ]);
      const text = await runCli(['status', id], { env });
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(
        /1 running, 1 waiting for a slot of volcengine at 127\.0\.0\.1:\d+ \(key [0-9a-f]{8}\)/,
      );
      const entry = await listed(env, accountId, () => true);
      expect(entry).toMatchObject({ setLimit: 1, limit: 1, inFlight: 1, waiting: 1, waitingByBatch: { [id]: 1 } });
      expect((await runCli(['cancel', id], { env })).code).toBe(0);
    });
  });

  it('watch and status of a batch stopped by its budget: status stopped, the reason, the budget, exit 1', async () => {
    const env = simEnv();
    accountIdOf(env);
    const id = openBatchId('stopped');
    await withWorker(env, async () => {
      const items = write('stopped.txt', prompts(3, 'a small boat'));
      const start = await runCli(
        ['start', items, '--out', path.join(dir, 'out'), '--batch-id', id, '--max-submissions', '1', ...fast],
        { env },
      );
      expect(start.code).toBe(0);
      const watch = await runCli(['watch', id, '--json'], { env });
      expect(watch.code).toBe(1);
      const doc = JSON.parse(watch.stdout);
      expect(doc).toMatchObject({
        batchId: id,
        status: 'stopped',
        stopped: expect.stringMatching(/^the budget of 1 submissions is spent \(1 made\)/),
        budget: { max: 1, used: 1, reserved: 0 },
        counts: { total: 3, succeeded: 1 },
        manifest: path.join(dir, 'out', id, 'manifest.json'),
      });
      const status = await runCli(['status', id, '--json'], { env });
      expect(status.code).toBe(1);
      expect(JSON.parse(status.stdout)).toMatchObject({ status: 'stopped', budget: { max: 1, used: 1 } });
    });
  });

  it('run stops at its budget (exit 1, the rest queued); resume with no worker left works it to the end', async () => {
    const env = simEnv();
    accountIdOf(env);
    const id = batchId('budget');
    const out = path.join(dir, 'out');
    const items = write('budget.txt', prompts(5, 'a paper crane'));
    sim.reset();
    const run = await runCli(
      ['run', items, '--out', out, '--batch-id', id, '--max-submissions', '3', '--concurrency', '2', ...fast],
      { env },
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `Batch ${id} stopped: the budget of 3 submissions is spent (3 made); 2 items not run. ` +
        `\`imagebatch resume ${id} --max-submissions N\``,
    );
    const manifest = JSON.parse(fs.readFileSync(path.join(out, id, 'manifest.json'), 'utf8'));
    expect(manifest.stopped).toMatch(/^the budget of 3 submissions is spent/);
    expect(manifest.items.map((e: any) => e.status).sort()).toEqual([
      'queued',
      'queued',
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
    expect(sim.stats().submissions).toBe(3);
    // The batch stays open on the server, for resume.
    const desc = await (await testClient()).workflow.getHandle(`batch-${id}`).describe();
    expect(desc.status.name).toBe('RUNNING');

    const resume = await runCli(['resume', id, '--max-submissions', '10', '--json'], { env });
    expect(resume.code).toBe(0);
    expect(resume.stderr).toMatch(/working the batch here/);
    expect(resume.stderr).toContain(`Batch ${id}: resumed; budget 3 -> 10 submissions`);
    expect(JSON.parse(resume.stdout)).toMatchObject({
      batchId: id,
      status: 'completed',
      counts: { total: 5, succeeded: 5, failed: 0 },
    });
    expect(sim.stats().submissions).toBe(5);
  });
});

describe('numeric settings out of bounds', () => {
  const items = () => write('one.txt', ['a lone tree']);
  it.each([
    ['max_retries 1e9', { max_retries: 1e9 }, /image_generation\.max_retries: expected a whole number from 0 to 20/],
    ['max_retries null', { max_retries: null }, /image_generation\.max_retries: .*got null/],
    ['max_wait_time as a string', { max_wait_time: '30' }, /image_generation\.max_wait_time: .*got "30"/],
    ['poll_interval 0', { poll_interval: 0 }, /image_generation\.poll_interval: expected seconds >= 0\.1/],
    [
      'max_in_flight 0',
      { providers: { volcengine: { max_in_flight: 0 } } },
      /image_generation\.providers\.volcengine\.max_in_flight: expected a whole number from 1 to 1000, got 0/,
    ],
  ])('config %s: exit 2 naming the file and key', async (_name, block, message) => {
    const cwd = fs.mkdtempSync(path.join(dir, 'cfg-'));
    fs.writeFileSync(path.join(cwd, 'config.json'), JSON.stringify({ image_generation: block }));
    const r = await runCli(['run', items(), '--out', path.join(cwd, 'out')], { env: simEnv(), cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/config\.json: /);
    expect(r.stderr).toMatch(message);
  });

  it.each([
    ['run', 'IMAGE_GENERATION_MAX_WAIT_TIME', '1e308', /IMAGE_GENERATION_MAX_WAIT_TIME=1e308: expected a number/],
    ['run', 'IMAGE_GENERATION_MAX_CONCURRENT', '2001', /expected a whole number from 1 to 2000, got '2001'/],
    ['worker', 'IMAGEBATCH_DASHSCOPE_MAX_IN_FLIGHT', '1.5', /expected a whole number from 1 to 1000, got '1.5'/],
  ])('%s with %s=%s: exit 2', async (command, name, value, message) => {
    const args = command === 'run' ? ['run', items(), '--out', path.join(dir, 'out')] : ['worker'];
    const r = await runCli(args, { env: simEnv({ [name]: value }) });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('--max-submissions 0 and --max-wait beyond a day: exit 2', async () => {
    for (const [flag, value, message] of [
      ['--max-submissions', '0', /expected a whole number from 1 to 1000000, got '0'/],
      ['--max-wait', '86401', /expected seconds >= 1 and <= 86400, got '86401'/],
    ] as const) {
      const r = await runCli(['run', items(), '--out', path.join(dir, 'out'), flag, value], { env: simEnv() });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});

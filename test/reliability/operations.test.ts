// Operations on one machine: the embedded dev server when the `temporal` CLI is installed but imagebatch's cache
// folder does not exist yet, two `imagebatch run` at once sharing it, and `imagebatch dev-server` on a taken port.
// These runs use the embedded server (no TEMPORAL_ADDRESS), which takes localhost:7233 and 8233 as a user's would.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import { answers } from '../../src/temporal/dev-server-process';
import { freePort } from '../../src/temporal/dev-server';
import { cliEnv, type CliResult, spawnCli } from '../helpers/cli';
import { makeItems } from '../helpers/batch';
import { waitFor } from '../helpers/image-env';

const sims: ProviderSimulator[] = [];
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-ops-'));
});
afterAll(async () => {
  for (const sim of sims) await sim.close();
});

/** A user with the `temporal` CLI installed and no ~/.cache/imagebatch yet: a fresh cache folder per test. */
function freshUser(name: string): Record<string, string | undefined> {
  return {
    TEMPORAL_ADDRESS: undefined,
    TEMPORAL_CLI_PATH: inject('temporalCli'),
    XDG_CACHE_HOME: path.join(dir, name, 'cache-not-made-yet'),
  };
}

/** `imagebatch run` against a simulator of its own (latency `ms`), on its own task queue and the embedded server. */
async function startRun(user: Record<string, string | undefined>, name: string, count: number, ms: number) {
  return (await startRunWithSimulator(user, name, count, ms)).run;
}

/** startRun, and the run's simulator (to hold its tasks and release them). */
async function startRunWithSimulator(
  user: Record<string, string | undefined>,
  name: string,
  count: number,
  ms: number,
) {
  const sim = await startSimulator({ latencyMs: ms });
  sims.push(sim);
  const items = path.join(dir, `${name}.jsonl`);
  fs.writeFileSync(
    items,
    makeItems(count, name)
      .map((i) => JSON.stringify(i))
      .join('\n'),
  );
  const args = ['run', items, '--out', path.join(dir, 'out'), '--batch-id', name, '--provider', 'volcengine'];
  args.push('--poll-interval', '0.2', '--max-wait', '60', '--concurrency', '2');
  return { run: spawnCli(args, { env: cliEnv({ ...sim.env(), ...user }) }), sim };
}

function expectSucceeded(r: CliResult, count: number) {
  if (r.code !== 0) console.log(r.stdout, r.stderr);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(new RegExp(`${count} succeeded, 0 failed`));
}

/** The last user of the embedded server stops it. */
async function expectServerGone(user: Record<string, string | undefined>) {
  await waitFor(async () => !(await answers('127.0.0.1:7233')), 'the embedded server to stop', 20_000);
  const servers = path.join(user.XDG_CACHE_HOME!, 'imagebatch', 'servers');
  expect(fs.readdirSync(servers).filter((f) => f.endsWith('.json'))).toEqual([]);
}

describe('the embedded dev server', () => {
  it('starts when the temporal CLI is installed but the cache folder does not exist, and two runs at once both finish', async () => {
    const user = freshUser('together');
    // Both look for a server at the same moment: one starts it, the other waits for it and attaches.
    const [a, b] = [await startRun(user, 'together-a', 2, 100), await startRun(user, 'together-b', 4, 1500)];
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expectSucceeded(ra, 2);
    expectSucceeded(rb, 4);
    expect(fs.existsSync(path.join(user.XDG_CACHE_HOME!, 'imagebatch', 'dev-server.db'))).toBe(true);
    await expectServerGone(user);
  });

  it('outlives the run that started it while a second run that attached to it still works', async () => {
    const user = freshUser('after');
    const first = await startRun(user, 'after-a', 2, 1000);
    await waitFor(() => /started a Temporal dev server/.test(first.output.stderr), 'the first run to start it', 60_000);
    // The second finds the first's server on localhost:7233 and uses it. Its tasks are held (a latency of ten minutes)
    // until the first has ended, so it is certain to be still running then; released, it finishes on that server.
    const { run: second, sim: secondSim } = await startRunWithSimulator(user, 'after-b', 6, 600_000);
    await waitFor(() => secondSim.stats().submissions === 2, 'the second run to submit');
    const ra = await first.done;
    expectSucceeded(ra, 2);
    expect(second.exitCode).toBeNull();
    secondSim.setKnobs({ latencyMs: 200 });
    secondSim.finishNow();
    expectSucceeded(await second.done, 6);
    expect(second.output.stderr).not.toMatch(/started a Temporal dev server/);
    await expectServerGone(user);
  });
});

describe('imagebatch dev-server', () => {
  it('exits non-zero with the reason when its port is taken, instead of printing success', async () => {
    const taken = Number(inject('temporalAddress').split(':').pop());
    const r = await spawnCli(['dev-server', '--port', String(taken), '--ui-port', String(await freePort())], {
      env: cliEnv(freshUser('taken')),
    }).done;
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`port ${taken} on 127.0.0.1 is already in use`));
    expect(r.stdout).not.toMatch(/Temporal dev server:/);
  });
});

// The Temporal dev server (file-backed) is SIGKILLed mid-batch and restarted on the same database:
// `imagebatch run` says it lost the connection, recovers when the server returns, and the batch completes, each
// image paid for once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { type DevServer, freePort, startDevServer } from '../../src/temporal/dev-server';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import { cliEnv, spawnCli } from '../helpers/cli';
import { waitFor } from '../helpers/image-env';
import { expectOutputsIntact, makeItems } from '../helpers/batch';

let sim: ProviderSimulator;
let server: DevServer | undefined;
beforeAll(async () => {
  sim = await startSimulator({ latencyMs: { dist: 'uniform', min: 300, max: 900 } });
});
afterAll(async () => {
  await server?.stop();
  await sim.close();
});

describe('server crash', () => {
  it('completes the batch after the server is killed and restarted on its database', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-server-'));
    const db = path.join(dir, 'temporal.db');
    const port = await freePort();
    const binary = inject('temporalCli');
    server = await startDevServer({ binary, port, uiPort: false, db });
    const items = path.join(dir, 'items.jsonl');
    const list = makeItems(30, 'srv');
    fs.writeFileSync(items, list.map((i) => JSON.stringify(i)).join('\n'));
    const id = `srv-${process.pid}`;
    const cli = spawnCli(
      [
        'run',
        items,
        '--out',
        path.join(dir, 'out'),
        '--batch-id',
        id,
        '--concurrency',
        '5',
        '--poll-interval',
        '0.3',
        '--max-wait',
        '60',
      ],
      {
        env: cliEnv({ ...sim.env(), TEMPORAL_ADDRESS: server.address }),
      },
    );
    await waitFor(() => sim.stats().submissions >= 8, 'eight submissions', 60_000);
    server.process.kill('SIGKILL');
    await new Promise((r) => server!.process.once('exit', r));
    await waitFor(() => /lost the connection to Temporal/.test(cli.output.stderr), 'the CLI to notice', 60_000);
    server = await startDevServer({ binary, port, uiPort: false, db });
    const r = await cli.done;
    if (r.code !== 0) console.log(r.stdout, r.stderr);
    expect(r.stderr).toMatch(/connection to Temporal is back/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/30 succeeded, 0 failed, 0 cancelled/);
    const m = expectOutputsIntact(path.join(dir, 'out', id), sim.stats());
    expect(m.items.filter((e) => e.status === 'succeeded')).toHaveLength(30);
    // The crash cost no second payment: the worker lived on, and its journal answers a submit retried after it.
    const by = sim.stats().submissionsByPrompt;
    expect(list.map((i) => by[i.prompt])).toEqual(list.map(() => 1));
    expect(sim.stats().submissions).toBe(30);
  });
});

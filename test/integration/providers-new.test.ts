// The new providers end to end through the CLI, on the test run's dev server with the simulator over real HTTP:
// `run --provider fal|openai|comfyui`, a plain worker that holds only DashScope's key serving a DashScope batch it
// did not start, and a worker without any credentials refused with the variables to set.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_COMFY_WORKFLOW } from '../../src/providers/comfyui/default-graph';
import { simulatorAndFolder, terminatedAfterEach } from '../e2e/batch-cleanup';
import { cliEnv, runCli, spawnCli } from '../helpers/cli';
import { waitFor } from '../helpers/image-env';
import { uniqueQueue } from '../helpers/temporal';

const fx = simulatorAndFolder('ib-new-providers-');
const leftRunning = terminatedAfterEach();
const fast = ['--poll-interval', '0.2', '--max-wait', '30'];
let n = 0;
const batchId = (prefix: string) => `${prefix}-${++n}-${process.pid}`;

function itemsFile(name: string, lines: object[]): string {
  const file = path.join(fx.dir, name);
  fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

/** Only this provider's variables (pointed at the test's simulator): no other provider can stand in. */
function envOf(...names: string[]): Record<string, string> {
  const all = fx.sim.env();
  return Object.fromEntries(Object.entries(all).filter(([k]) => names.includes(k)));
}

const ONLY = {
  fal: ['FAL_KEY', 'FAL_QUEUE_URL'],
  openai: ['OPENAI_API_KEY', 'OPENAI_BASE_URL'],
  comfyui: ['COMFYUI_URL'],
  dashscope: ['DASHSCOPE_API_KEY', 'DASHSCOPE_HTTP_BASE_URL'],
} as const;

describe('run --provider fal|openai|comfyui', () => {
  it.each(['fal', 'openai', 'comfyui'] as const)('%s: every image made by it, through the CLI', async (provider) => {
    const graph = path.join(fx.dir, 'steps.json');
    const custom = structuredClone(DEFAULT_COMFY_WORKFLOW);
    custom.graph['3'].inputs.steps = 4;
    fs.writeFileSync(graph, JSON.stringify(custom));
    const items = [
      { id: 'kite', prompt: 'a red kite' },
      { id: 'boat', prompt: 'a blue boat', width: 256, height: 192 },
      ...(provider === 'comfyui' ? [{ id: 'own', prompt: 'a fox', workflow: 'steps.json' }] : []),
    ];
    const id = batchId(provider);
    const before = fx.sim.stats().byProvider[provider]?.submissions ?? 0;
    const r = await runCli(
      [
        'run',
        itemsFile(`${provider}.jsonl`, items),
        '--out',
        fx.dir,
        '--batch-id',
        id,
        '--provider',
        provider,
        '--json',
        ...fast,
      ],
      { env: cliEnv(envOf(...ONLY[provider])) },
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ batchId: id, status: 'completed', counts: { succeeded: items.length } });
    expect(out.simulated).toBeUndefined();
    const manifest = JSON.parse(fs.readFileSync(path.join(fx.dir, id, 'manifest.json'), 'utf8'));
    expect(manifest.items.map((e: { id: string }) => e.id)).toEqual(items.map((i) => i.id));
    for (const entry of manifest.items) {
      expect(entry).toMatchObject({ status: 'succeeded', provider });
      expect(fs.existsSync(path.join(fx.dir, id, entry.file))).toBe(true);
    }
    expect(fx.sim.stats().byProvider[provider].submissions - before).toBe(items.length);
  });
});

describe('workers serve the providers whose credentials they have', () => {
  it('a worker with only DASHSCOPE_API_KEY serves a dashscope batch started elsewhere without keys', async () => {
    const queue = uniqueQueue('dash');
    const id = batchId('dash');
    leftRunning.push(id);
    const out = path.join(fx.dir, 'dash-out');
    const file = path.join(fx.dir, 'dash.txt');
    fs.writeFileSync(file, 'a small house\na tall tree\n');
    const started = await runCli(['start', file, '--out', out, '--batch-id', id, '--provider', 'dashscope', ...fast], {
      env: cliEnv({ IMAGEBATCH_TASK_QUEUE: queue }),
    });
    expect(started.code, started.stderr).toBe(0);
    expect(started.stderr).toMatch(/DASHSCOPE_API_KEY is not set here: a worker that has them runs this dashscope/);
    expect(started.stderr).toContain(`no worker serves dashscope yet (task queue '${queue}@dashscope')`);

    const workerEnv = cliEnv({ ...envOf(...ONLY.dashscope), IMAGEBATCH_TASK_QUEUE: queue });
    const worker = spawnCli(['worker'], { env: workerEnv });
    try {
      await waitFor(() => /Providers served/.test(worker.output.stderr), 'the worker to start');
      expect(worker.output.stderr).toContain(
        `Providers served (each on its own queue): dashscope ('${queue}@dashscope').`,
      );
      const watch = await runCli(['watch', id, '--json'], { env: workerEnv });
      expect(watch.code, watch.stderr).toBe(0);
      expect(JSON.parse(watch.stdout)).toMatchObject({ status: 'completed', counts: { succeeded: 2 } });
    } finally {
      worker.kill('SIGINT');
      await worker.done;
    }
  });

  it('a worker without any credentials is exit 2 naming every variable', async () => {
    const r = await runCli(['worker'], { env: cliEnv() });
    expect(r.code).toBe(2);
    for (const name of [
      'VOLC_ACCESSKEY',
      'VOLC_SECRETKEY',
      'DASHSCOPE_API_KEY',
      'FAL_KEY',
      'OPENAI_API_KEY',
      'COMFYUI_URL',
    ])
      expect(r.stderr).toContain(name);
    expect(r.stderr).toMatch(/--provider simulator/);
  });
});

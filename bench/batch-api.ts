// `node .tmp/bench/bench/batch-api.js [--quick]` (after `npx tsc -p bench/tsconfig.json`): what the Batch API saves.
// The same batch run twice with `imagebatch start --provider openai` against the simulator, on one server and one
// worker process: one request per image (the Images API), and `--batch-api` (the Files and Batches endpoints). What is
// counted is the simulator's: HTTP requests to the OpenAI endpoints per image, and lines billed. Cost per image is in
// units of one request's price: the Batch API bills a line at half of it (OpenAI's published batch discount), so it
// is billed lines x 0.5 / images against billed requests x 1 / images. Makespan is the batch workflow's start to
// close: the price of the discount in time (here the simulator's job time, at OpenAI up to 24 hours).
// Writes bench/results/<stamp>-batch-api.json and bench/results/latest-batch-api.md.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { startSimulator } from '../src/providers/simulator/server';
import { ROOT, startServer, startWorkerProcess } from './harness';
import { saveResults } from './results-files';

const quick = process.argv.includes('--quick');
const BIN = path.join(ROOT, 'bin/imagebatch.js');
const N = quick ? 50 : 500;
/** One call's generation time, and a job's whole time in the simulator. */
const CALL_MS = 500;
const JOB_MS = quick ? 5000 : 20_000;
/** The Batch API's price of a line, against one request's. */
const BATCH_RATE = 0.5;

interface Measured {
  path: 'per-request' | 'batch-api';
  n: number;
  succeeded: number;
  requests: number;
  billed: number;
  makespanS: number;
}

function runCli(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<void> {
  const child = spawn(process.execPath, [BIN, ...args], { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`imagebatch ${args[0]}: ${stderr}`)))),
  );
}

/** Requests the simulator answered on the OpenAI endpoints (Images, Files, Batches), whatever the outcome. */
function openaiRequests(sim: Awaited<ReturnType<typeof startSimulator>>): number {
  return Object.values(sim.stats().byProvider.openai?.requestsByOutcome ?? {}).reduce((a, b) => a + b, 0);
}

async function measure(
  client: Client,
  sim: Awaited<ReturnType<typeof startSimulator>>,
  which: Measured['path'],
  o: { env: NodeJS.ProcessEnv; queue: string; dir: string },
): Promise<Measured> {
  sim.reset();
  const batchId = `bench-${which}-${Date.now()}`;
  const items = path.join(o.dir, `${batchId}.jsonl`);
  const lines = Array.from({ length: N }, (_, i) =>
    JSON.stringify({ id: `i${i + 1}`, prompt: `${batchId} image ${i + 1}` }),
  );
  fs.writeFileSync(items, lines.join('\n') + '\n');
  const extra = which === 'batch-api' ? ['--batch-api', '--poll-interval', '1'] : ['--concurrency', '10'];
  // prettier-ignore
  await runCli(['start', items, '--out', path.join(o.dir, 'out'), '--batch-id', batchId, '--provider', 'openai',
    '--task-queue', o.queue, ...extra], o.env, o.dir);
  const handle = client.workflow.getHandle(`batch-${batchId}`);
  const summary = (await handle.result()) as { succeeded: number };
  const d = await handle.describe();
  const jobs = (await (await fetch(`${sim.url}/__openai-batches`)).json()) as { linesByPrompt: Record<string, number> };
  const billed =
    which === 'batch-api'
      ? Object.values(jobs.linesByPrompt).reduce((a, b) => a + b, 0)
      : (sim.stats().byProvider.openai?.submissions ?? 0);
  const m: Measured = {
    path: which,
    n: N,
    succeeded: summary.succeeded,
    requests: openaiRequests(sim),
    billed,
    makespanS: (d.closeTime!.getTime() - d.startTime.getTime()) / 1000,
  };
  console.error(`${which}: ${m.requests} requests, ${m.billed} billed, ${m.makespanS.toFixed(1)} s`);
  return m;
}

const costPerImage = (m: Measured) => (m.billed * (m.path === 'batch-api' ? BATCH_RATE : 1)) / m.succeeded;

function table(rows: Measured[], date: string, serverKind: string): string {
  const lines = [
    `Batch API against one request per image, ${date} (${os.cpus().length} cores, ${serverKind}, simulator: a call ` +
      `${CALL_MS / 1000} s, a job ${JOB_MS / 1000} s; one worker)`,
    '',
    '| path | images | provider requests per image | lines or calls billed | cost per image (x one call) | makespan |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const m of rows)
    lines.push(
      `| ${m.path} | ${m.succeeded}/${m.n} | ${(m.requests / m.n).toFixed(3)} | ${m.billed} | ` +
        `${costPerImage(m).toFixed(3)} | ${m.makespanS.toFixed(1)} s |`,
    );
  return lines.join('\n');
}

async function main() {
  const date = new Date().toISOString();
  const sim = await startSimulator({ latencyMs: CALL_MS, moderationWords: [] });
  sim.setKnobs({ openaiBatch: { jobMs: JOB_MS } });
  const { server, client } = await startServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-bench-batch-api-'));
  const queue = `bench-batch-api-${process.pid}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...sim.env(),
    TEMPORAL_ADDRESS: server.address,
    IMAGEBATCH_LOG_LEVEL: 'ERROR',
  };
  const worker = await startWorkerProcess(server.address, queue, sim.env());
  const rows: Measured[] = [];
  try {
    rows.push(await measure(client, sim, 'per-request', { env, queue, dir }));
    rows.push(await measure(client, sim, 'batch-api', { env, queue, dir }));
  } finally {
    await worker.stop();
    await client.connection.close();
    await server.stop();
    await sim.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const md = table(rows, date, server.kind);
  const suffix = quick ? '-batch-api-quick' : '-batch-api';
  saveResults(date, suffix, { date, quick, rows }, `latest${suffix}.md`, md);
  console.log(md);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

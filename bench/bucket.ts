// `node .tmp/bench/bench/bucket.js [--quick]` (after `npx tsc -p bench/tsconfig.json`): what a bucket as the output
// costs. The same batches, started with `imagebatch start` once with a local --out and once with --out s3://..., on
// the same server (one in-memory dev server, or BENCH_TEMPORAL_ADDRESS), the same simulator and the same worker
// process, in one run; the bucket is versitygw on loopback (a PUT per image, no network latency: what is measured is
// imagebatch's own cost of the store). Makespan is the batch workflow's start to close, as the server recorded it.
// Writes bench/results/<stamp>-bucket.json and bench/results/latest-bucket.md.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { startSimulator } from '../src/providers/simulator/server';
import { startS3Server } from '../test/helpers/s3-server';
import { ROOT, startServer, startWorkerProcess } from './harness';
import { saveResults } from './results-files';

const quick = process.argv.includes('--quick');
const BIN = path.join(ROOT, 'bin/imagebatch.js');

interface Case {
  name: string;
  n: number;
  concurrency: number;
  latencyMs: number;
}

const CASES: Case[] = quick
  ? [
      { name: 'makespan', n: 40, concurrency: 10, latencyMs: 2000 },
      { name: 'throughput', n: 100, concurrency: 50, latencyMs: 0 },
    ]
  : [
      { name: 'makespan', n: 200, concurrency: 20, latencyMs: 2000 },
      { name: 'throughput', n: 1000, concurrency: 50, latencyMs: 0 },
    ];

interface Measured {
  case: string;
  output: 'local' | 'bucket';
  n: number;
  concurrency: number;
  latencyMs: number;
  makespanS: number;
  imagesPerS: number;
  succeeded: number;
  /** The machine's 1-minute load average when the batch ended: this is a shared machine, and it shows. */
  loadAvg1: number;
}

function runCli(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<void> {
  const child = spawn(process.execPath, [BIN, ...args], { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`imagebatch ${args[0]}: ${stderr}`)))),
  );
}

async function measure(
  client: Client,
  c: Case,
  output: Measured['output'],
  out: string,
  o: { env: NodeJS.ProcessEnv; queue: string; dir: string },
): Promise<Measured> {
  const batchId = `bench-${output}-${c.name}-${Date.now()}`;
  const items = path.join(o.dir, `${batchId}.jsonl`);
  const lines = Array.from({ length: c.n }, (_, i) =>
    JSON.stringify({ id: `i${i + 1}`, prompt: `${batchId} image ${i + 1}`, seed: i, width: 256, height: 256 }),
  );
  fs.writeFileSync(items, lines.join('\n') + '\n');
  // The timer waits the provider's latency, then collect polls every 0.5 s (the makespan cases of `npm run bench`).
  // prettier-ignore
  await runCli(['start', items, '--out', out, '--batch-id', batchId, '--provider', 'volcengine', '--task-queue', o.queue,
    '--concurrency', String(c.concurrency), '--poll-interval', c.latencyMs ? '0.5' : '0.2', '--max-wait', '180'], o.env, o.dir);
  const handle = client.workflow.getHandle(`batch-${batchId}`);
  const summary = (await handle.result()) as { succeeded: number };
  // From the first run's start (a batch of 1,000 continues as new) to the last run's close, as the server recorded.
  const last = await handle.describe();
  const firstRunId = last.raw.workflowExecutionInfo?.firstRunId ?? last.runId;
  const first = await client.workflow.getHandle(handle.workflowId, firstRunId).describe();
  const makespanS = (last.closeTime!.getTime() - first.startTime.getTime()) / 1000;
  const m: Measured = {
    case: c.name,
    output,
    n: c.n,
    concurrency: c.concurrency,
    latencyMs: c.latencyMs,
    makespanS,
    imagesPerS: c.n / makespanS,
    succeeded: summary.succeeded,
    loadAvg1: os.loadavg()[0]!,
  };
  console.error(
    `${c.name} ${output}: ${makespanS.toFixed(1)} s, ${m.imagesPerS.toFixed(1)} images/s, load ${m.loadAvg1}`,
  );
  return m;
}

const cell = (m: Measured) => `${m.makespanS.toFixed(1)} s, ${m.imagesPerS.toFixed(1)} (${m.loadAvg1.toFixed(1)})`;

function table(rows: Measured[], date: string, serverKind: string): string {
  const lines = [
    `Bucket against local output, ${date} (${os.cpus().length} cores, ${serverKind}, versitygw on loopback, one worker)`,
    '',
    '| case | N | C | latency | local: makespan, images/s (load) | bucket: makespan, images/s (load) | bucket / local |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const c of CASES) {
    const local = rows.find((r) => r.case === c.name && r.output === 'local')!;
    const bucket = rows.find((r) => r.case === c.name && r.output === 'bucket')!;
    lines.push(
      `| ${c.name} | ${c.n} | ${c.concurrency} | ${c.latencyMs / 1000} s | ${cell(local)} | ${cell(bucket)} | ` +
        `${(bucket.makespanS / local.makespanS).toFixed(3)}x |`,
    );
  }
  return lines.join('\n');
}

async function main() {
  const date = new Date().toISOString();
  const sim = await startSimulator({ latencyMs: 0, moderationWords: [] });
  const s3 = await startS3Server();
  const bucket = await s3.createBucket('bench');
  const { server, client } = await startServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-bench-bucket-'));
  const queue = `bench-bucket-${process.pid}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...sim.env(),
    ...s3.env,
    TEMPORAL_ADDRESS: server.address,
    IMAGEBATCH_LOG_LEVEL: 'ERROR',
  };
  const worker = await startWorkerProcess(server.address, queue, {
    ...sim.env(),
    ...(s3.env as Record<string, string>),
  });
  const rows: Measured[] = [];
  try {
    for (const c of CASES) {
      sim.setKnobs({ latencyMs: c.latencyMs });
      rows.push(await measure(client, c, 'local', path.join(dir, 'out'), { env, queue, dir }));
      rows.push(await measure(client, c, 'bucket', `s3://${bucket}/runs`, { env, queue, dir }));
    }
  } finally {
    await worker.stop();
    await client.connection.close();
    await server.stop();
    await s3.stop();
    await sim.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const md = table(rows, date, server.kind);
  const suffix = quick ? '-bucket-quick' : '-bucket';
  saveResults(date, suffix, { date, quick, rows }, `latest${suffix}.md`, md);
  console.log(md);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

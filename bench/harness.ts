// Bench plumbing: a dev server, the simulator, worker processes, batches, and what the server says about them.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { accountOf } from '../src/providers/account';
import { itemsSourceFor } from '../src/output/items-copy';
import { providersFromEnv } from '../src/providers';
import type { Latency } from '../src/providers/simulator/knobs';
import type { AccountRef } from '../src/shared/accounts';
import type { BatchInput, BatchSummary } from '../src/shared/batch-types';
import { progressQuery } from '../src/shared/messages';
import { ImageBatchId, SEARCH_ATTRIBUTES } from '../src/shared/search-attributes';
import type { ImageItem, ImagePolicy } from '../src/shared/types';
import { findTemporalCli } from '../src/temporal/find-cli';
import { startDevServer } from '../src/temporal/dev-server';
import type { accountWorkflow } from '../src/workflows/account';

// Compiled to .tmp/bench/bench/: the repository is three levels up.
export const ROOT = path.resolve(__dirname, '../../..');
const BIN = path.join(ROOT, 'bin/imagebatch.js');

/** The server a bench talks to: a dev server it started, or one that was already running. */
export interface BenchServer {
  address: string;
  /** How the results' header names it. */
  kind: string;
  stop(): Promise<void>;
}

/**
 * A dev server in memory, or, when BENCH_TEMPORAL_ADDRESS is set, a server that is already running (for example
 * one on PostgreSQL, bench/README.md), with the project's search attributes added if they are missing.
 * Every bench dev server runs activities eagerly (bench/README.md: measured, no consistent gain or loss).
 */
export async function startServer(
  o: { db?: string; dynamicConfig?: Record<string, unknown> } = {},
): Promise<{ server: BenchServer; client: Client }> {
  const external = process.env.BENCH_TEMPORAL_ADDRESS;
  if (external) {
    const connection = await Connection.connect({ address: external });
    await addSearchAttributes(connection, 'default');
    const server = { address: external, kind: `server at ${external}`, stop: async () => undefined };
    return { server, client: new Client({ connection, namespace: 'default' }) };
  }
  const dev = await startDevServer({
    binary: await findTemporalCli(),
    uiPort: false,
    db: o.db,
    dynamicConfig: { 'system.enableActivityEagerExecution': true, ...o.dynamicConfig },
  });
  const client = new Client({
    connection: await Connection.connect({ address: dev.address }),
    namespace: 'default',
  });
  return { server: { address: dev.address, kind: 'dev server in memory', stop: () => dev.stop() }, client };
}

async function addSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const have = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = SEARCH_ATTRIBUTES.filter((a) => !have.customAttributes?.[a.name]);
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(
      missing.map((a) => [a.name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
    ),
  });
}

export interface WorkerProcess {
  child: ChildProcess;
  /** Peak resident set size (VmHWM) so far, in MB. */
  peakRssMb(): number;
  stop(): Promise<void>;
}

export async function startWorkerProcess(
  address: string,
  taskQueue: string,
  simEnv: Record<string, string>,
  extraArgs: string[] = [],
): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [BIN, 'worker', '--task-queue', taskQueue, ...extraArgs], {
    env: { ...process.env, ...simEnv, TEMPORAL_ADDRESS: address, IMAGEBATCH_LOG_LEVEL: 'ERROR' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('polling task queue')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}): ${stderr}`)));
  });
  return {
    child,
    peakRssMb() {
      const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
    },
    async stop() {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    },
  };
}

/**
 * Starts the simulator account's workflow on this task queue (an account is per queue), as `openAccount` would but
 * first, so that the batches find it with this limit already set.
 */
export async function startAccount(
  client: Client,
  taskQueue: string,
  simEnv: Record<string, string>,
  setLimit: number,
): Promise<AccountRef> {
  const account = accountOf('volcengine', providersFromEnv(simEnv), taskQueue);
  await client.workflow.start<typeof accountWorkflow>('accountWorkflow', {
    workflowId: account.workflowId,
    taskQueue,
    args: [{ account, setLimit }],
  });
  return account;
}

export const benchItems = (n: number, prefix: string): ImageItem[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i + 1}`,
    prompt: `${prefix} image ${i + 1}`,
    seed: i,
    width: 256,
    height: 256,
  }));

/**
 * A makespan case's provider latency, as the simulator takes it: fixed, or drawn uniformly per task (real providers
 * vary). Not normal: the timer needs a shortest latency to wait.
 */
export type MakespanLatency = Extract<Latency, number | { dist: 'uniform' }>;

/** The ideal makespan, ceil(N/C) x L, in seconds; defined for a fixed latency only. */
export const idealSeconds = (n: number, c: number, l: MakespanLatency): number | undefined =>
  typeof l === 'number' ? (Math.ceil(n / c) * l) / 1000 : undefined;

export const latencyLabel = (l: MakespanLatency): string =>
  typeof l === 'number' ? `${l / 1000}s` : `${l.min / 1000}-${l.max / 1000}s uniform`;

/**
 * The policy of a makespan case: the timer waits the provider's shortest latency, then collect polls every 0.5 s
 * (the baseline sleeps and polls the same way).
 */
export const makespanPolicy = (l: MakespanLatency): ImagePolicy => {
  const [least, most] = typeof l === 'number' ? [l, l] : [l.min, l.max];
  return {
    pollIntervalMs: 500,
    expectedLatencyMs: least,
    maxWaitMs: 10 * most + 60_000,
    retries: 3,
    simplifications: 2,
  };
};

/** The policy of the zero-latency (throughput and scale) cases. */
export const ZERO_LATENCY: ImagePolicy = {
  pollIntervalMs: 200,
  expectedLatencyMs: 0,
  maxWaitMs: 120_000,
  retries: 3,
  simplifications: 2,
};

export function tmpOut(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ib-bench-${name}-`));
}

export async function runBatch(
  client: Client,
  o: {
    batchId: string;
    items: ImageItem[];
    taskQueue: string;
    concurrency: number;
    policy: ImagePolicy;
    outRoot: string;
    /** Print the batch's progress to stderr this often (long runs). */
    reportEveryMs?: number;
  },
): Promise<{ summary: BatchSummary; seconds: number }> {
  const outDir = path.join(o.outRoot, o.batchId);
  const input: BatchInput = {
    batchId: o.batchId,
    items: itemsSourceFor(o.items, outDir),
    outDir,
    provider: 'volcengine',
    concurrency: o.concurrency,
    policy: o.policy,
  };
  const started = process.hrtime.bigint();
  const handle = await client.workflow.start('batchWorkflow', {
    taskQueue: o.taskQueue,
    workflowId: `batch-${o.batchId}`,
    args: [input],
    typedSearchAttributes: [{ key: ImageBatchId, value: o.batchId }],
  });
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  const report = o.reportEveryMs
    ? setInterval(() => {
        handle.query(progressQuery).then(
          (p) => {
            const done = p.succeeded + p.failed + p.cancelled;
            console.error(
              `${o.batchId}: ${done}/${p.total} done, ${(done / seconds()).toFixed(1)} images/s, run ${p.runs}`,
            );
          },
          () => undefined, // between runs (continue-as-new) a query can fail; the next one will answer
        );
      }, o.reportEveryMs)
    : undefined;
  try {
    const summary = (await handle.result()) as BatchSummary;
    return { summary, seconds: seconds() };
  } finally {
    clearInterval(report);
  }
}

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
export type HistoryEvent = NonNullable<History['events']>[number];
/** An event's kind, by the attributes it carries (no need for the proto enums). */
export type EventKind = keyof HistoryEvent & `${string}EventAttributes`;
/** When the server recorded the event, in ms since the epoch. */
export const eventMs = (e: HistoryEvent): number =>
  Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6);

/**
 * Every run of a workflow, from the first: walked back from the last by the run each one continued (no visibility
 * query, which the server may answer before it has indexed the last run; each run's history is fetched once).
 */
export async function runHistories(client: Client, workflowId: string): Promise<History[]> {
  const runs: History[] = [];
  let runId: string | undefined;
  do {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    runs.unshift(history);
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  } while (runId);
  return runs;
}

export interface HistoryCost {
  batchRuns: number;
  batchEvents: number;
  batchEventsPerImage: number;
  batchMaxEventsPerRun: number;
  batchPayloadBytes: number;
  childEvents: number;
  childPayloadBytes: number;
}

function payloadBytes(json: string): number {
  let n = 0;
  for (const m of json.matchAll(/"data":\s*"([A-Za-z0-9+/=]*)"/g)) n += Math.floor((m[1].length * 3) / 4);
  return n;
}

export async function historyCost(
  client: Client,
  batchId: string,
  images: number,
  sampleChild: string,
): Promise<HistoryCost> {
  const workflowId = `batch-${batchId}`;
  const runs = await runHistories(client, workflowId);
  const counts = runs.map((h) => h.events?.length ?? 0);
  const events = counts.reduce((a, b) => a + b, 0);
  const bytes = runs.reduce((sum, h) => sum + payloadBytes(historyToJSON(h)), 0);
  const child = await client.workflow.getHandle(`${workflowId}/${sampleChild}`).fetchHistory();
  return {
    batchRuns: runs.length,
    batchEvents: events,
    batchEventsPerImage: +(events / images).toFixed(2),
    batchMaxEventsPerRun: Math.max(...counts),
    batchPayloadBytes: bytes,
    childEvents: child.events?.length ?? 0,
    childPayloadBytes: payloadBytes(historyToJSON(child)),
  };
}

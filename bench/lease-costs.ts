// What a provider account costs per image (issue 27): billable actions and events per image from the histories of
// every child, the batch and the account, by Temporal Cloud's definition of an action; and the cases the lease was
// built for, each against its ideal and a p-limit baseline in the same run.
import type { Client } from '@temporalio/client';
import { accountStateQuery } from '../src/shared/accounts';
import { providersFromEnv } from '../src/providers';
import { startSimulator, type ProviderSimulator } from '../src/providers/simulator/server';
import { pLimitOf, runBaseline } from './baseline';
import { quantile, slotHandoffs } from './handoff';
import {
  benchItems,
  type HistoryEvent,
  makespanPolicy,
  runBatch,
  runHistories,
  startAccount,
  startServer,
  startWorkerProcess,
  tmpOut,
  ZERO_LATENCY,
} from './harness';
import { measureServerFloor } from './server-floor';
import { accountOf } from '../src/providers/account';

type Event = HistoryEvent;

/**
 * Billable actions of one run's history (Temporal Cloud): its start (a workflow, a child or a continue-as-new run),
 * each activity attempt (the last attempt's number: earlier attempts leave no event), timers, signals sent, search
 * attribute upserts, markers, accepted Updates, and signals from clients. Heartbeats leave no event: not counted.
 */
export function actionsOf(events: Event[]): number {
  let n = 0;
  const attempts = new Map<string, number>();
  for (const e of events) {
    if (e.workflowExecutionStartedEventAttributes) n++;
    else if (e.activityTaskScheduledEventAttributes) attempts.set(String(e.eventId), 1);
    else if (e.activityTaskStartedEventAttributes) {
      const a = e.activityTaskStartedEventAttributes;
      attempts.set(String(a.scheduledEventId), Math.max(1, a.attempt ?? 1));
    } else if (
      e.timerStartedEventAttributes ||
      e.signalExternalWorkflowExecutionInitiatedEventAttributes ||
      e.upsertWorkflowSearchAttributesEventAttributes ||
      e.markerRecordedEventAttributes ||
      e.workflowExecutionUpdateAcceptedEventAttributes
    )
      n++;
    else if (
      e.workflowExecutionSignaledEventAttributes &&
      !e.workflowExecutionSignaledEventAttributes.externalWorkflowExecution
    )
      n++;
  }
  return n + [...attempts.values()].reduce((a, b) => a + b, 0);
}

/** The cost of a batch's images, per image: its children's, its own share, its account's share. */
async function costs(client: Client, batchIds: string[], images: number, accountId: string) {
  let childEvents = 0;
  let childActions = 0;
  let maxChildEvents = 0;
  let batchEvents = 0;
  let batchActions = 0;
  for (const [b, batchId] of batchIds.entries()) {
    for (const run of await runHistories(client, `batch-${batchId}`)) {
      batchEvents += run.events?.length ?? 0;
      batchActions += actionsOf(run.events ?? []);
    }
    for (let i = 1; i <= images / batchIds.length; i++) {
      const h = await client.workflow.getHandle(`batch-${batchId}/b${b + 1}-${i}`).fetchHistory();
      const ev = h.events ?? [];
      childEvents += ev.length;
      maxChildEvents = Math.max(maxChildEvents, ev.length);
      childActions += actionsOf(ev);
    }
  }
  let accountEvents = 0;
  let accountActions = 0;
  for (const run of await runHistories(client, accountId).catch(() => [])) {
    accountEvents += run.events?.length ?? 0;
    accountActions += actionsOf(run.events ?? []);
  }
  const per = (x: number) => +(x / images).toFixed(2);
  return {
    childEventsPerImage: per(childEvents),
    maxChildEvents,
    childActionsPerImage: per(childActions),
    batchEventsPerImage: per(batchEvents),
    batchActionsPerImage: per(batchActions),
    accountEventsPerImage: per(accountEvents),
    accountActionsPerImage: per(accountActions),
    actionsPerImage: per(childActions + batchActions + accountActions),
  };
}

const secondsSince = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

interface Case {
  name: string;
  batches: number;
  images: number;
  concurrency: number;
  latencyMs: number;
  /** The account's limit: set (the account started with it), learned (the provider's only), or none. */
  limit?: { n: number; how: 'set' | 'learned' };
}

async function runCase(client: Client, address: string, sim: ProviderSimulator, tq: string, c: Case) {
  sim.reset();
  sim.setKnobs({ latencyMs: c.latencyMs, concurrencyLimit: c.limit?.n ?? 0 });
  const worker = await startWorkerProcess(address, tq, sim.env());
  const accountId = accountOf('volcengine', providersFromEnv(sim.env()), tq).workflowId;
  let ib: { seconds: number; succeeded: number };
  let state;
  try {
    if (c.limit?.how === 'set') await startAccount(client, tq, sim.env(), c.limit.n);
    const t0 = process.hrtime.bigint();
    const done = await Promise.all(
      Array.from({ length: c.batches }, (_, b) =>
        runBatch(client, {
          batchId: `${tq}-${b + 1}`,
          items: benchItems(c.images, `b${b + 1}`),
          taskQueue: tq,
          concurrency: c.concurrency,
          policy: c.latencyMs ? makespanPolicy(c.latencyMs) : ZERO_LATENCY,
          outRoot: tmpOut('lease'),
        }),
      ),
    );
    ib = { seconds: secondsSince(t0), succeeded: done.reduce((n, d) => n + d.summary.succeeded, 0) };
    state = await client.workflow
      .getHandle(accountId)
      .query(accountStateQuery)
      .catch(() => undefined);
  } finally {
    await worker.stop();
  }
  const stats = sim.stats();
  const limit = c.limit?.n;
  const handoffs = limit ? slotHandoffs(stats.tasks, limit) : [];
  const total = c.batches * c.images;
  const cost = await costs(
    client,
    Array.from({ length: c.batches }, (_, b) => `${tq}-${b + 1}`),
    total,
    accountId,
  );
  // The baseline: one p-limit loop per batch, sharing one semaphore of the account's limit (or of the cap).
  let baseline: number | undefined;
  if (c.latencyMs) {
    sim.reset();
    const policy = makespanPolicy(c.latencyMs);
    const shared = await pLimitOf(limit ?? c.concurrency);
    const t0 = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: c.batches }, (_, b) =>
        runBaseline({
          items: benchItems(c.images, `base${b}`),
          concurrency: limit ? shared : c.concurrency,
          provider: 'volcengine',
          providers: providersFromEnv(sim.env()),
          outDir: tmpOut('lease-base'),
          pollIntervalMs: policy.pollIntervalMs,
          expectedLatencyMs: policy.expectedLatencyMs,
        }),
      ),
    );
    baseline = secondsSince(t0);
  }
  const ideal = c.latencyMs
    ? (total / Math.min(limit ?? Infinity, c.concurrency * c.batches)) * (c.latencyMs / 1000)
    : undefined;
  const r = {
    name: c.name,
    seconds: +ib.seconds.toFixed(2),
    succeeded: ib.succeeded,
    ideal,
    baseline: baseline && +baseline.toFixed(2),
    perIdeal: ideal ? +(ib.seconds / ideal).toFixed(3) : undefined,
    perBaseline: baseline ? +(ib.seconds / baseline).toFixed(3) : undefined,
    imagesPerSecond: +(total / ib.seconds).toFixed(2),
    throttles: stats.requestsByOutcome['concurrency-limited'] ?? 0,
    providerMaxInFlight: stats.maxInFlight,
    submissions: stats.submissions,
    handoffMs: handoffs.length
      ? { p50: quantile(handoffs, 0.5), p95: quantile(handoffs, 0.95), n: handoffs.length }
      : undefined,
    account: state && {
      limit: state.limit,
      throttles: state.throttles,
      granted: state.granted,
      inFlight: state.inFlight,
    },
    ...cost,
  };
  console.error(JSON.stringify(r));
  return r;
}

async function main() {
  const label = process.argv[2] ?? 'now';
  const only = process.argv[3];
  const sim = await startSimulator({ latencyMs: 0, moderationWords: [] });
  const { server, client } = await startServer();
  const out: Record<string, unknown> = { label, date: new Date().toISOString(), node: process.version };
  let q = 0;
  const tq = () => `lease-${process.pid}-${++q}`;
  const cases: Case[] = [
    { name: '40 images, cap 10, L=2s, no account limit', batches: 1, images: 40, concurrency: 10, latencyMs: 2000 },
    {
      name: '2x10, account limit 2 set, L=1.5s',
      batches: 2,
      images: 10,
      concurrency: 4,
      latencyMs: 1500,
      limit: { n: 2, how: 'set' },
    },
    {
      name: '2x10, account limit 2 learned, L=1.5s',
      batches: 2,
      images: 10,
      concurrency: 4,
      latencyMs: 1500,
      limit: { n: 2, how: 'learned' },
    },
    {
      name: '2x50, account limit 4 set, L=2s',
      batches: 2,
      images: 50,
      concurrency: 50,
      latencyMs: 2000,
      limit: { n: 4, how: 'set' },
    },
    { name: '200 images, cap 50, L=0', batches: 1, images: 200, concurrency: 50, latencyMs: 0 },
  ];
  try {
    const results = [];
    for (const c of cases)
      if (!only || c.name.startsWith(only)) results.push(await runCase(client, server.address, sim, tq(), c));
    out.cases = results;
    if (!only || only === 'floor') out.floor = await measureServerFloor(client, server.address, tq(), 200);
  } finally {
    await server.stop();
    await sim.close();
  }
  console.log(JSON.stringify(out, null, 2));
}

if (require.main === module)
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });

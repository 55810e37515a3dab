// Two batches at once on one provider account with a set limit: imagebatch's account workflow against two p-limit
// loops sharing one semaphore, on a simulator that refuses (and counts) any submit over the same limit.
import type { Client } from '@temporalio/client';
import { providersFromEnv } from '../src/providers';
import type { ProviderSimulator } from '../src/providers/simulator/server';
import { accountStateQuery } from '../src/shared/accounts';
import { pLimitOf, runBaseline } from './baseline';
import { quantile, slotHandoffs, taskEnd } from './handoff';
import { handoffHops } from './handoff-hops';
import { benchItems, makespanPolicy, runBatch, startAccount, startWorkerProcess, tmpOut } from './harness';
import { ratioValue, type Row } from './rows';

export interface AccountsCase {
  batches: number;
  /** Images per batch; each batch's concurrency is as large, so only the account limits them. */
  images: number;
  limit: number;
  latencyMs: number;
}

export const ACCOUNTS_FULL: AccountsCase = { batches: 2, images: 50, limit: 4, latencyMs: 2000 };
export const ACCOUNTS_QUICK: AccountsCase = { batches: 2, images: 12, limit: 4, latencyMs: 1000 };

const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;
const batchOf = (c: AccountsCase) => Array.from({ length: c.batches }, (_, b) => b + 1);

/** Both batches at once on one worker, the account started first with the limit set. */
async function runImagebatch(
  client: Client,
  serverAddress: string,
  sim: ProviderSimulator,
  tq: string,
  c: AccountsCase,
) {
  const worker = await startWorkerProcess(serverAddress, tq, sim.env());
  try {
    // Started before the batches, so their openAccount finds it (USE_EXISTING) with its limit already set.
    const account = await startAccount(client, tq, sim.env(), c.limit);
    const t0 = process.hrtime.bigint();
    const startedAt = Date.now();
    const batches = await Promise.all(
      batchOf(c).map((b) =>
        runBatch(client, {
          batchId: `${tq}-${b}`,
          items: benchItems(c.images, `acc${b}`),
          taskQueue: tq,
          concurrency: c.images,
          policy: makespanPolicy(c.latencyMs),
          outRoot: tmpOut('acc'),
        }),
      ),
    );
    const s = seconds(t0);
    const doneAt = Date.now();
    // Asked while the worker still runs: a query needs one.
    const state = await client.workflow.getHandle(account.workflowId).query(accountStateQuery);
    // The batches open their account themselves: if they found another one, this one's numbers would say nothing.
    // (Batches lease slots since 0.2.1: the account grants a few leases, not a slot per image.)
    if (state.granted < c.limit) throw new Error(`the batches did not use ${account.workflowId}`);
    return { seconds: s, startedAt, doneAt, batches, account, state };
  } finally {
    await worker.stop();
  }
}

/** The baseline: one p-limit loop per batch, all sharing one semaphore of the account's limit. */
async function runSharedBaseline(sim: ProviderSimulator, c: AccountsCase) {
  const policy = makespanPolicy(c.latencyMs);
  const shared = await pLimitOf(c.limit);
  const t0 = process.hrtime.bigint();
  const results = await Promise.all(
    batchOf(c).map((b) =>
      runBaseline({
        items: benchItems(c.images, `base${b}`),
        concurrency: shared,
        provider: 'volcengine',
        providers: providersFromEnv(sim.env()),
        outDir: tmpOut('acc-base'),
        pollIntervalMs: policy.pollIntervalMs,
        expectedLatencyMs: policy.expectedLatencyMs,
      }),
    ),
  );
  return { seconds: seconds(t0), results };
}

export async function runAccountsCase(
  client: Client,
  serverAddress: string,
  sim: ProviderSimulator,
  taskQueue: string,
  c: AccountsCase,
): Promise<{ name: string; raw: object; rows: Row[] }> {
  const name = `accounts ${c.batches}x${c.images} limit=${c.limit} L=${c.latencyMs / 1000}s`;
  const ideal = ((c.batches * c.images) / c.limit) * (c.latencyMs / 1000);
  const knobs = sim.getKnobs();
  sim.reset();
  // The provider refuses (and counts) any submit over the account's limit, so a throttle would show.
  sim.setKnobs({ latencyMs: c.latencyMs, concurrencyLimit: c.limit });
  try {
    const ib = await runImagebatch(client, serverAddress, sim, taskQueue, c);
    const ibStats = sim.stats();
    const handoffs = slotHandoffs(ibStats.tasks, c.limit);
    const hops = await handoffHops(client, ib.account.workflowId, ibStats.tasks);
    sim.reset();
    const base = await runSharedBaseline(sim, c);
    const baseStats = sim.stats();

    // Where the makespan goes: before the first submit, the slots' chains, after the last task's end.
    const times = Object.values(ibStats.tasks);
    const firstSubmit = Math.min(...times.map((t) => t.submittedAt));
    const lastEnd = Math.max(...times.map(taskEnd));
    const phasesS = {
      startToFirstSubmit: (firstSubmit - ib.startedAt) / 1000,
      firstSubmitToLastEnd: (lastEnd - firstSubmit) / 1000,
      lastEndToDone: (ib.doneAt - lastEnd) / 1000,
    };
    const throttled = ibStats.requestsByOutcome['concurrency-limited'] ?? 0;
    const handoff = { p50: quantile(handoffs, 0.5), p95: quantile(handoffs, 0.95), count: handoffs.length };
    const raw = {
      imagebatch: ib.seconds,
      baseline: base.seconds,
      ideal,
      phasesS,
      summaries: ib.batches.map((r) => ({ seconds: r.seconds, ...r.summary })),
      providerThrottles: throttled,
      providerMaxInFlight: ibStats.maxInFlight,
      submissions: ibStats.submissions,
      account: ib.state,
      handoffMs: { ...handoff, all: handoffs },
      handoffHopsMs: hops,
      baselineResult: base.results,
      baselineThrottles: baseStats.requestsByOutcome['concurrency-limited'] ?? 0,
      baselineMaxInFlight: baseStats.maxInFlight,
    };
    const row = (metric: string, value: string, goal: string): Row => ({ case: name, metric, value, goal });
    const rows = [
      row('imagebatch / ideal', ratioValue(ib.seconds, ideal), '<= 1.10x'),
      row('imagebatch / shared p-limit', ratioValue(ib.seconds, base.seconds), '<= 1.05x'),
      row('throttles: provider / account', `${throttled} / ${ib.state.throttles}`, '0'),
      row('provider max in flight', `${ibStats.maxInFlight} (${ibStats.submissions} submissions)`, `${c.limit}`),
      row('handoff p50 / p95', `${handoff.p50} ms / ${handoff.p95} ms (${handoff.count} handoffs)`, 'p50 <= 300 ms'),
    ];
    console.error(
      `${name}: imagebatch ${ib.seconds.toFixed(1)} s, shared p-limit ${base.seconds.toFixed(1)} s, ideal ${ideal} s, ` +
        `throttles ${throttled}/${ib.state.throttles}, max in flight ${ibStats.maxInFlight}, ` +
        `handoff p50 ${handoff.p50} ms p95 ${handoff.p95} ms`,
    );
    return { name, raw, rows };
  } finally {
    // The cases after this one run without a provider-side limit.
    sim.setKnobs({ latencyMs: knobs.latencyMs, concurrencyLimit: knobs.concurrencyLimit });
  }
}

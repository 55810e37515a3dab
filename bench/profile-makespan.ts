// Where a makespan round goes: runs one imagebatch makespan case and breaks every image's chain into phases
// from the event times the server recorded. Not part of `npm run bench`; run it after `npm run bench` compiled
// the bench: `node .tmp/bench/bench/profile-makespan.js [N C L_ms [worker flags...]]` (default 200 20 2000).
import { startSimulator } from '../src/providers/simulator/server';
import {
  benchItems,
  type EventKind as Kind,
  eventMs as ms,
  idealSeconds,
  makespanPolicy,
  runBatch,
  startServer,
  startWorkerProcess,
  tmpOut,
} from './harness';

function summarise(phases: Map<string, number[]>): void {
  for (const [name, values] of phases) {
    const v = [...values].sort((a, b) => a - b);
    const q = (p: number) => v[Math.min(v.length - 1, Math.floor(p * v.length))];
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    console.log(`${name.padEnd(44)} p50 ${q(0.5)}  p90 ${q(0.9)}  max ${v[v.length - 1]}  mean ${mean.toFixed(0)} ms`);
  }
}

async function main() {
  const [n, c, l] = [200, 20, 2000].map((d, i) => Number(process.argv[2 + i] ?? d));
  const sim = await startSimulator({ latencyMs: l, moderationWords: [] });
  const { server, client } = await startServer();
  const tq = `profile-${process.pid}`;
  try {
    const worker = await startWorkerProcess(server.address, tq, sim.env(), process.argv.slice(5));
    const r = await runBatch(client, {
      batchId: tq,
      items: benchItems(n, 'mk'),
      taskQueue: tq,
      concurrency: c,
      policy: makespanPolicy(l),
      outRoot: tmpOut('profile'),
    });
    const rss = worker.peakRssMb();
    await worker.stop();
    const ideal = idealSeconds(n, c, l);
    console.log(`makespan ${r.seconds.toFixed(2)} s, ideal ${ideal} s, worker peak RSS ${rss.toFixed(0)} MB`);

    const phases = new Map<string, number[]>();
    const add = (name: string, value: number) => {
      if (phases.has(name)) phases.get(name)!.push(value);
      else phases.set(name, [value]);
    };
    const batch = (await client.workflow.getHandle(`batch-${tq}`).fetchHistory()).events ?? [];
    const initiated = new Map<string, number>();
    batch.forEach((e, i) => {
      if (e.startChildWorkflowExecutionInitiatedEventAttributes)
        initiated.set(e.startChildWorkflowExecutionInitiatedEventAttributes.workflowId!, ms(e));
      if (e.workflowExecutionSignaledEventAttributes) {
        const next = batch.slice(i).find((x) => x.startChildWorkflowExecutionInitiatedEventAttributes);
        if (next) add('batch: report signal -> next child initiated', ms(next) - ms(e));
      }
    });
    for (let i = 1; i <= n; i++) {
      const id = `batch-${tq}/mk-${i}`;
      const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
      const at = (kind: Kind, k = 0) => ms(events.filter((e) => e[kind])[k]);
      const started = at('workflowExecutionStartedEventAttributes');
      add('batch initiated -> child started', started - (initiated.get(id) ?? started));
      add('child started -> first task completed', at('workflowTaskCompletedEventAttributes') - started);
      add(
        'submit activity (started -> completed)',
        at('activityTaskCompletedEventAttributes') - at('activityTaskStartedEventAttributes'),
      );
      add(
        'submit completed -> timer started',
        at('timerStartedEventAttributes') - at('activityTaskCompletedEventAttributes'),
      );
      add(
        'timer fired -> collect scheduled',
        at('activityTaskScheduledEventAttributes', 1) - at('timerFiredEventAttributes'),
      );
      add(
        'collect activity (started -> completed)',
        at('activityTaskCompletedEventAttributes', 1) - at('activityTaskStartedEventAttributes', 1),
      );
      add(
        'collect completed -> report signal sent',
        at('signalExternalWorkflowExecutionInitiatedEventAttributes') - at('activityTaskCompletedEventAttributes', 1),
      );
    }
    summarise(phases);
  } finally {
    await client.connection.close();
    await server.stop();
    await sim.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

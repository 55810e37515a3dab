// `npm run bench -- --scale N`: one batch of N images (one worker, concurrency 50, zero latency), to show the
// largest batch completed and that no run of the batch's history grows with N. Kept out of the default run:
// 10,000 images take 12 minutes here and 50,000 took 83; the rate falls as the in-memory server fills.
import { startSimulator } from '../src/providers/simulator/server';
import {
  benchItems,
  historyCost,
  type HistoryCost,
  runBatch,
  startServer,
  startWorkerProcess,
  tmpOut,
  ZERO_LATENCY,
} from './harness';

export interface ScaleResult {
  images: number;
  succeeded: number;
  seconds: number;
  imagesPerSecond: number;
  peakRssMb: number;
  submissions: number;
  cost: HistoryCost;
  server: string;
}

export async function runScale(n: number): Promise<ScaleResult> {
  const sim = await startSimulator({ latencyMs: 0, moderationWords: [] });
  const { server, client } = await startServer();
  const tq = `scale-${process.pid}`;
  try {
    const worker = await startWorkerProcess(server.address, tq, sim.env());
    const r = await runBatch(client, {
      batchId: tq,
      items: benchItems(n, 'sc'),
      taskQueue: tq,
      concurrency: 50,
      policy: ZERO_LATENCY,
      outRoot: tmpOut('scale'),
      reportEveryMs: 60_000,
    });
    const peakRssMb = worker.peakRssMb();
    await worker.stop();
    return {
      images: n,
      succeeded: r.summary.succeeded,
      seconds: r.seconds,
      imagesPerSecond: n / r.seconds,
      peakRssMb,
      submissions: sim.stats().submissions,
      cost: await historyCost(client, tq, n, 'sc-1'),
      server: server.kind,
    };
  } finally {
    await client.connection.close();
    await server.stop();
    await sim.close();
  }
}

export function scaleTable(r: ScaleResult, date: string): string {
  const c = r.cost;
  return [
    `Measured ${date.slice(0, 10)} with \`npm run bench -- --scale ${r.images}\` (one worker, C=50, L=0, ${r.server}).`,
    '',
    '| images | completed | time | images/s | batch runs | max events per run | batch events per image | worker peak RSS |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    `| ${r.images} | ${r.succeeded} ok, ${r.submissions} submissions | ${(r.seconds / 60).toFixed(1)} min | ${r.imagesPerSecond.toFixed(1)} | ${c.batchRuns} | ${c.batchMaxEventsPerRun} | ${c.batchEventsPerImage} | ${r.peakRssMb.toFixed(0)} MB |`,
  ].join('\n');
}

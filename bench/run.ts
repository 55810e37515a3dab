// `npm run bench [-- --quick | --accounts | --scale N]`: imagebatch against a p-limit baseline on the simulator and a
// real dev server. Writes bench/results/<stamp>.json and bench/results/latest.md, and puts the table into
// docs/benchmarks.md. `--accounts` runs only the case of two batches on one account (with --quick, its small version);
// at full size it puts its own table into docs/benchmarks.md.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { providersFromEnv } from '../src/providers';
import { startSimulator } from '../src/providers/simulator/server';
import { ACCOUNTS_FULL, ACCOUNTS_QUICK, runAccountsCase } from './accounts-case';
import { runBaseline } from './baseline';
import {
  benchItems,
  historyCost,
  idealSeconds,
  latencyLabel,
  type MakespanLatency,
  makespanPolicy,
  ROOT,
  runBatch,
  startServer,
  startWorkerProcess,
  tmpOut,
  ZERO_LATENCY,
} from './harness';
import { saveResults } from './results-files';
import { ratioValue, type Row, rowsTable } from './rows';
import { runScale, scaleTable } from './scale';
import { measureServerFloor } from './server-floor';

const quick = process.argv.includes('--quick');
const accountsOnly = process.argv.includes('--accounts');
const scaleArg = process.argv.indexOf('--scale');
/** The page the tables go to (the README links it and keeps a short summary of its own). */
const TABLES_PAGE = path.join(ROOT, 'docs/benchmarks.md');

/** Puts a table between the page's `<!-- name:start -->` and `<!-- name:end -->` markers. */
function putInPage(name: string, table: string): void {
  const page = fs.readFileSync(TABLES_PAGE, 'utf8');
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  if (!page.includes(start)) return;
  fs.writeFileSync(TABLES_PAGE, page.replace(new RegExp(`${start}[\\s\\S]*${end}`), `${start}\n${table}\n${end}`));
  // The page is checked by Prettier in `npm test`: keep the new table in its format.
  spawnSync(process.execPath, [path.join(ROOT, 'node_modules/prettier/bin/prettier.cjs'), '--write', TABLES_PAGE], {
    stdio: 'inherit',
  });
}

async function scale(n: number) {
  const date = new Date().toISOString();
  const r = await runScale(n);
  const table = scaleTable(r, date);
  saveResults(date, '-scale', { date, ...r }, 'latest-scale.md', table);
  putInPage('bench-scale', table);
  console.log(table);
}

async function main() {
  if (scaleArg >= 0) {
    const n = Number(process.argv[scaleArg + 1]);
    if (!Number.isInteger(n) || n < 1) throw new Error('--scale wants a number of images, e.g. --scale 100000');
    return scale(n);
  }
  const rows: Row[] = [];
  const raw: Record<string, unknown> = {
    quick,
    date: new Date().toISOString(),
    node: process.version,
    cpus: (await import('node:os')).cpus().length,
  };
  const sim = await startSimulator({ latencyMs: 0, moderationWords: [] });
  const { server, client } = await startServer();
  raw.server = server.kind;
  let q = 0;
  const queue = () => `bench-${process.pid}-${++q}`;
  try {
    // --- makespan: imagebatch vs baseline vs ideal ---------------------------------------------------------
    // A uniform latency has no ideal (idealSeconds): it is compared with the baseline only.
    const makespanCases: { n: number; c: number; l: MakespanLatency }[] = quick
      ? [
          { n: 40, c: 10, l: 1000 },
          { n: 12, c: 3, l: 1000 },
          { n: 40, c: 10, l: { dist: 'uniform', min: 500, max: 1500 } },
        ]
      : [
          { n: 200, c: 20, l: 2000 },
          { n: 50, c: 3, l: 5000 },
          { n: 200, c: 20, l: { dist: 'uniform', min: 1000, max: 3000 } },
        ];
    for (const { n, c, l } of accountsOnly ? [] : makespanCases) {
      const name = `makespan N=${n} C=${c} L=${latencyLabel(l)}`;
      const policy = makespanPolicy(l);
      sim.reset();
      sim.setKnobs({ latencyMs: l });
      const tq = queue();
      const worker = await startWorkerProcess(server.address, tq, sim.env());
      const ib = await runBatch(client, {
        batchId: tq,
        items: benchItems(n, 'mk'),
        taskQueue: tq,
        concurrency: c,
        policy,
        outRoot: tmpOut('mk'),
      });
      await worker.stop();
      const ibMax = sim.stats().maxInFlight;
      sim.reset();
      const t0 = process.hrtime.bigint();
      const base = await runBaseline({
        items: benchItems(n, 'base'),
        concurrency: c,
        provider: 'volcengine',
        providers: providersFromEnv(sim.env()),
        outDir: tmpOut('base'),
        pollIntervalMs: policy.pollIntervalMs,
        expectedLatencyMs: policy.expectedLatencyMs,
      });
      const baseS = Number(process.hrtime.bigint() - t0) / 1e9;
      const ideal = idealSeconds(n, c, l);
      raw[name] = {
        imagebatch: ib.seconds,
        baseline: baseS,
        ideal,
        imagebatchMaxInFlight: ibMax,
        summary: ib.summary,
        baselineResult: base,
      };
      if (ideal !== undefined) {
        rows.push({
          case: name,
          metric: 'imagebatch / ideal',
          value: ratioValue(ib.seconds, ideal),
          goal: '<= 1.10x',
        });
      }
      rows.push({
        case: name,
        metric: 'imagebatch / baseline',
        value: ratioValue(ib.seconds, baseS),
        goal: '<= 1.05x',
      });
      console.error(
        `${name}: imagebatch ${ib.seconds.toFixed(1)} s, baseline ${baseS.toFixed(1)} s, ideal ${ideal ?? '-'} s`,
      );
    }

    // --- two batches at once on one account with a set limit: the account workflow against a shared p-limit -----
    const accounts = await runAccountsCase(
      client,
      server.address,
      sim,
      queue(),
      quick ? ACCOUNTS_QUICK : ACCOUNTS_FULL,
    );
    raw[accounts.name] = accounts.raw;
    rows.push(...accounts.rows);

    // --- throughput at zero latency, concurrency 50; history cost; worker memory ------------------------------
    sim.setKnobs({ latencyMs: 0 });
    const sizes = accountsOnly ? [] : quick ? [300] : [1000, 10000];
    for (const n of sizes) {
      for (const workers of [1, 2]) {
        const name = `throughput N=${n} C=50 L=0, ${workers} worker${workers > 1 ? 's' : ''}`;
        sim.reset();
        const tq = queue();
        const procs = await Promise.all(
          Array.from({ length: workers }, () => startWorkerProcess(server.address, tq, sim.env())),
        );
        const r = await runBatch(client, {
          batchId: tq,
          items: benchItems(n, 'tp'),
          taskQueue: tq,
          concurrency: 50,
          policy: ZERO_LATENCY,
          outRoot: tmpOut('tp'),
        });
        const rss = procs.map((p) => p.peakRssMb());
        await Promise.all(procs.map((p) => p.stop()));
        const cost = await historyCost(client, tq, n, 'tp-1');
        const rate = n / r.seconds;
        raw[name] = {
          seconds: r.seconds,
          imagesPerSecond: rate,
          peakRssMb: rss,
          cost,
          summary: r.summary,
          submissions: sim.stats().submissions,
        };
        rows.push({
          case: name,
          metric: 'images/s',
          value: `${rate.toFixed(1)} (${n} in ${r.seconds.toFixed(1)} s, ${r.summary.succeeded} ok)`,
          goal: '>= 50',
        });
        rows.push({
          case: name,
          metric: 'worker peak RSS',
          value: rss.map((m) => `${m.toFixed(0)} MB`).join(', '),
          goal: n >= 10000 ? '<= 300 MB' : undefined,
        });
        if (workers === 1) {
          rows.push({
            case: name,
            metric: 'events per image: child / batch',
            value: `${cost.childEvents} / ${cost.batchEventsPerImage}`,
            goal: '<= 30 (child)',
          });
          rows.push({
            case: name,
            metric: 'batch history',
            value: `${cost.batchEvents} events in ${cost.batchRuns} runs (max ${cost.batchMaxEventsPerRun}/run), ${(cost.batchPayloadBytes / 1024).toFixed(0)} KiB payloads; child ${cost.childPayloadBytes} B`,
          });
        }
        console.error(
          `${name}: ${rate.toFixed(1)} images/s, RSS ${rss.map((m) => m.toFixed(0)).join('/')} MB, child ${cost.childEvents} events`,
        );
      }
    }

    // --- the server's own ceiling here: the smallest workflows, no imagebatch code ------------------------------
    const floorCount = quick ? 300 : 1000;
    const floors = accountsOnly ? [] : await measureServerFloor(client, server.address, queue(), floorCount);
    for (const f of floors) {
      const name = `server floor N=${floorCount} C=50, ${f.workflow}`;
      raw[name] = f;
      rows.push({
        case: name,
        metric: 'workflows/s',
        value: `${f.perSecond.toFixed(1)} (${f.count} in ${f.seconds.toFixed(1)} s)`,
      });
      console.error(`${name}: ${f.perSecond.toFixed(1)} workflows/s`);
    }
  } finally {
    await client.connection.close();
    await server.stop();
    await sim.close();
  }
  const flags = [accountsOnly && '--accounts', quick && '--quick'].filter(Boolean).join(' ');
  const table = rowsTable(
    `Measured ${String(raw.date).slice(0, 10)} on ${raw.cpus} cores, ${process.version}, ${String(raw.server)}, simulator on loopback${flags ? ` (${flags})` : ''}.`,
    rows,
  );
  const suffix = `${accountsOnly ? '-accounts' : ''}${quick ? '-quick' : ''}`;
  saveResults(new Date().toISOString(), suffix, raw, `latest${suffix}.md`, table);
  // The page's main table is the full run's; the accounts case alone (full size) has a table of its own there.
  if (!suffix) putInPage('bench', table);
  else if (suffix === '-accounts') putInPage('bench-accounts', table);
  console.log(table);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

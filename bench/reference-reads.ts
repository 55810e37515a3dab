// What refusing a bad reference image costs the worker: the time to refuse a FIFO (which must not block) and the
// time and resident memory to refuse a 2 GB file by its size (which must not be read). The tests check that each is
// refused, and why; the figures live here. Not part of `npm run bench`: `npx tsc -p bench/tsconfig.json && node
// .tmp/bench/bench/reference-reads.js [repeats]` (default 20). Writes results/<stamp>-reference-reads.json and
// results/latest-reference-reads.md.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readReferenceFile } from '../src/activities/references';
import { saveResults } from './results-files';
import { type Row, rowsTable } from './rows';

const PNG_START = Buffer.from('89504e470d0a1a0a', 'hex');

/** Runs `fn` `repeats` times; each run's milliseconds and resident-memory growth (MB). */
async function measure(repeats: number, fn: () => Promise<unknown>) {
  const ms: number[] = [];
  const rssMb: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const rss = process.memoryUsage().rss;
    const started = performance.now();
    await fn().catch(() => undefined);
    ms.push(performance.now() - started);
    rssMb.push((process.memoryUsage().rss - rss) / 2 ** 20);
  }
  return { ms, rssMb };
}

const max = (v: number[]) => Math.max(...v);
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

async function main() {
  const repeats = Number(process.argv[2] ?? 20);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-refs-'));
  try {
    const fifo = path.join(dir, 'fifo.png');
    execFileSync('mkfifo', [fifo]);
    const big = path.join(dir, 'big.png');
    fs.writeFileSync(big, PNG_START);
    fs.truncateSync(big, 2 * 1024 ** 3);
    const fifoRefusal = await measure(repeats, () => readReferenceFile(fifo, 60_000));
    const bigRefusal = await measure(repeats, () => readReferenceFile(big));

    const date = new Date().toISOString();
    const rows: Row[] = [
      {
        case: 'FIFO',
        metric: 'time to refuse (median / max)',
        value: `${median(fifoRefusal.ms).toFixed(2)} / ${max(fifoRefusal.ms).toFixed(2)} ms`,
        goal: '< 5 s (no blocking)',
      },
      {
        case: '2 GB file',
        metric: 'time to refuse (median / max)',
        value: `${median(bigRefusal.ms).toFixed(2)} / ${max(bigRefusal.ms).toFixed(2)} ms`,
      },
      {
        case: '2 GB file',
        metric: 'resident memory growth (max)',
        value: `${max(bigRefusal.rssMb).toFixed(1)} MB`,
        goal: '< 100 MB (not read)',
      },
    ];
    const table = rowsTable(`Refusing bad reference images, ${repeats} times each (${date})`, rows);
    const raw = { date, node: process.version, repeats, fifo: fifoRefusal, big: bigRefusal };
    saveResults(date, '-reference-reads', raw, 'latest-reference-reads.md', table);
    console.log(table);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

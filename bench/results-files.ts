// Where a bench's numbers go: bench/results/<date><suffix>.json with the raw figures, and its table as
// bench/results/<latest> (the README and docs/benchmarks.md quote from there).
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './harness';

export const RESULTS = path.join(ROOT, 'bench/results');

export function saveResults(date: string, suffix: string, raw: object, latest: string, table: string): void {
  fs.mkdirSync(RESULTS, { recursive: true });
  const stamp = date.replace(/[:.]/g, '-');
  fs.writeFileSync(path.join(RESULTS, `${stamp}${suffix}.json`), JSON.stringify(raw, null, 2) + '\n');
  fs.writeFileSync(path.join(RESULTS, latest), table + '\n');
}

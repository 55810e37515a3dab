// The README's main job as a user runs it: `imagebatch run examples/items.jsonl` with the built-in simulator and an
// embedded dev server, on whatever Node is first on PATH. Writes its outcome as one test in vitest's JSON shape
// (argv[2]) so .ci/summarize.js counts it with the suites.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const resultFile = process.argv[2];
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-ci-example-'));
const name = `example run on Node ${process.version}`;
const r = spawnSync(
  process.execPath,
  [
    'bin/imagebatch.js',
    'run',
    'examples/items.jsonl',
    '--out',
    out,
    '--json',
    '--batch-id',
    `ci-example-${process.pid}`,
  ],
  { encoding: 'utf8', timeout: 10 * 60_000 },
);
let problem = '';
if (r.status !== 0) problem = `exit ${r.status ?? r.signal}`;
else {
  try {
    const doc = JSON.parse(r.stdout);
    const files = doc.items.filter((i) => i.file && fs.existsSync(i.file)).length;
    if (doc.status !== 'completed' || doc.counts.succeeded !== 6 || files !== 6)
      problem = `status ${doc.status}, ${doc.counts.succeeded} succeeded, ${files} files`;
  } catch (e) {
    problem = `unreadable summary: ${e.message}`;
  }
}
if (problem) console.error(`${name}: FAILED (${problem})\n${r.stderr}`);
else console.error(`${name}: passed`);
fs.mkdirSync(path.dirname(resultFile), { recursive: true });
fs.writeFileSync(
  resultFile,
  JSON.stringify({ numPassedTests: problem ? 0 : 1, numFailedTests: problem ? 1 : 0, testResults: [] }),
);
fs.rmSync(out, { recursive: true, force: true });
process.exit(problem ? 1 : 0);

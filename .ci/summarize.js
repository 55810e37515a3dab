// Prints "N passed, N failed" from vitest's JSON report (vitest's own summary is not in that form).
'use strict';
const fs = require('node:fs');
const file = process.argv[2];
let r;
try {
  r = JSON.parse(fs.readFileSync(file, 'utf8'));
} catch {
  console.log('0 passed, 1 failed');
  process.exit(0);
}
const failedSuites = (r.testResults || []).filter(
  (s) => s.status === 'failed' && s.assertionResults.length === 0,
).length;
const skipped = (r.numPendingTests || 0) + (r.numTodoTests || 0);
const tail = skipped ? `, ${skipped} skipped` : '';
console.log(`${r.numPassedTests} passed, ${r.numFailedTests + failedSuites}${' failed'}${tail}`);

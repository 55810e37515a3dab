// Prints "N passed, N failed" over every vitest JSON report named (vitest's own summary is not in that form).
// A report that is missing or unreadable counts as one failure: a tier that did not run is not a pass.
'use strict';
const fs = require('node:fs');
let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  let r;
  try {
    r = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    console.error(`ci: no readable results in ${file}`);
    failed += 1;
    continue;
  }
  // A suite that failed to load has no assertion results: count it as a failure.
  const failedSuites = (r.testResults || []).filter(
    (s) => s.status === 'failed' && s.assertionResults.length === 0,
  ).length;
  passed += r.numPassedTests || 0;
  failed += (r.numFailedTests || 0) + failedSuites;
  skipped += (r.numPendingTests || 0) + (r.numTodoTests || 0);
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);

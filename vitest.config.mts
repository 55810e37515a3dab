import { defineConfig } from 'vitest/config';

// Three tiers, chosen by folder. `unit` needs no Temporal server and no Go: pure code, activities in
// MockActivityEnvironment, replay of recorded histories, providers against the simulator over loopback.
// `cluster` (test/cluster) gets a real Temporal server on PostgreSQL and runs worker machines in mount namespaces
// (root); it runs after the other two, so its machines do not share the two cores with them.
// `integration` is every other test file, and gets the run's one dev server (globalSetup).
const UNIT = ['test/unit/**/*.test.ts', 'test/providers/**/*.test.ts'];
const CLUSTER = ['test/cluster/**/*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: the dev server, the workers and the simulator share them.
    maxWorkers: 2,
    // CI runs the suite on more than one Node version and names a report file for each (.ci/run).
    reporters: ['default', ['json', { outputFile: process.env.VITEST_JSON_REPORT || '.tmp/vitest-results.json' }]],
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...UNIT, ...CLUSTER],
          globalSetup: ['test/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'cluster',
          include: CLUSTER,
          globalSetup: ['test/cluster/global-setup.ts'],
          sequence: { groupOrder: 1 },
          testTimeout: 900_000,
        },
      },
    ],
  },
});

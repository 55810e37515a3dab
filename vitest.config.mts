import { defineConfig } from 'vitest/config';

// Two tiers, chosen by folder. `unit` needs no Temporal server and no Go: pure code, activities in
// MockActivityEnvironment, replay of recorded histories, providers against the simulator over loopback.
// `integration` is every other test file, and gets the run's one dev server (globalSetup).
const UNIT = ['test/unit/**/*.test.ts', 'test/providers/**/*.test.ts'];

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
          exclude: UNIT,
          globalSetup: ['test/global-setup.ts'],
        },
      },
    ],
  },
});

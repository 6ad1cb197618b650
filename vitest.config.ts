import { defineConfig } from 'vitest/config';

// Two suites: `unit` (fakes allowed, fast) and `integration` (real Kafka, chDB and
// Alertmanager started by scripts/stack.sh). Forks, not threads: chDB allows one
// engine per process and data directory.
export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          pool: 'forks',
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          pool: 'forks',
          globalSetup: ['test/integration/globalSetup.ts'],
          testTimeout: 240_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});

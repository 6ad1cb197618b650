import { defineConfig } from 'vitest/config';

// Two suites: `unit` (fakes allowed, fast) and `integration` (real Kafka, chDB and
// Alertmanager started by scripts/stack.sh). Forks, not threads: chDB allows one
// engine per process and data directory; two forks for the two cores.
//
// Time-outs: a test bounds what it waits for itself (a condition polled with a deadline:
// a webhook, a consumer group, a child process; or, for long CPU-bound steps such as a
// simulated morning, its progress: test/support/progress.ts). The limits below are
// backstops for a hung test, not budgets: on a busy machine the same CPU-bound test
// takes several times longer, and that must not fail it.
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
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          pool: 'forks',
          globalSetup: ['test/integration/globalSetup.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});

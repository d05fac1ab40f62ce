import { defineConfig } from 'vitest/config';

/**
 * Three projects: unit (pure logic, no I/O), integration (real Temporal dev server and
 * a real kube-apiserver + kwok cluster), e2e (MCP clients against the running stack).
 * The global setup starts the shared stack once per run unless only unit tests run.
 */
export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    // Tearing down the cluster and the Temporal server takes longer than the default 10 s.
    teardownTimeout: 120_000,
    reporters: ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Integration suites share one cluster and one Temporal server; two at a time
          // keeps a 2-core machine responsive.
          pool: 'forks',
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: 'e2e',
          sequence: { groupOrder: 2 },
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 180_000,
          pool: 'forks',
          maxWorkers: 1,
        },
      },
    ],
  },
});

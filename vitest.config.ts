import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          // Each file starts its own NATS, Redis and five services; on two
          // cores they run one file at a time.
          fileParallelism: false,
          // The funclets these tests start get a pool budget of 16 sandboxes
          // (every runtime's 2, and room to grow), not a quarter of the
          // machine's memory: a test's platform must not boot a hundred.
          env: { FUNCLET_POOL_MEMORY_MB: process.env.FUNCLET_POOL_MEMORY_MB ?? '1024' },
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});

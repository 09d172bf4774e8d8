import { defineConfig } from 'vitest/config';

// Tests that stop/restart the shared broker: one file at a time, after the parallel suite.
export default defineConfig({
  test: {
    include: ['test/**/*.serial.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
  },
});

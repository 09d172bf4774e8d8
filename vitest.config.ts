import { defineConfig } from 'vitest/config';

// Two phases (see package.json "test"): the main suite runs files in parallel; files named
// *.serial.test.ts stop or restart the shared RabbitMQ and run afterwards, alone (vitest.serial.config.ts).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/**/*.serial.test.ts', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests share one RabbitMQ and bind loopback ports; keep files in separate forks.
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});

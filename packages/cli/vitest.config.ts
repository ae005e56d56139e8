import { defineConfig } from 'vitest/config';

export default defineConfig({
  // setupFiles: fail fast, never hang, if native WebGPU code deadlocks (see @peftjs/test-utils/watchdog).
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['@peftjs/test-utils/watchdog'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});

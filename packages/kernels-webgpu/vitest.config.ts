import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

/** Mesa (lavapipe) warns on every start without a private XDG_RUNTIME_DIR; make one when none is set. */
function runtimeDir(): string {
  if (process.env.XDG_RUNTIME_DIR) return process.env.XDG_RUNTIME_DIR;
  const dir = join(tmpdir(), `peftjs-xdg-${process.getuid?.() ?? 'user'}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

export default defineConfig({
  test: {
    // Fail fast, never hang, if native WebGPU code deadlocks (see @peftjs/test-utils/watchdog).
    setupFiles: ['@peftjs/test-utils/watchdog'],
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One WebGPU device per test file; lavapipe runs its shaders on every core, so files run one at a time.
    fileParallelism: false,
    env: { XDG_RUNTIME_DIR: runtimeDir() },
  },
});

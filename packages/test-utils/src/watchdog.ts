/**
 * A stall watchdog for test processes that drive native code (Dawn / Vulkan).
 *
 * A native deadlock blocks the main thread, so no JavaScript timer fires and no vitest timeout can end the test:
 * the run would hang until CI's own limit. (Seen once in Dawn's `ProcessEvents` on lavapipe.) A worker thread still
 * runs; it watches a heartbeat the main thread bumps every second and, when the heartbeat has stopped for
 * `stallMs`, writes what happened to stderr and kills the process, so the run fails at once with a reason.
 *
 * Used as a vitest `setupFiles` entry: `setupFiles: ['@peftjs/test-utils/watchdog']`. Starting it again in the same
 * process is a no-op.
 */
import { Worker } from 'node:worker_threads';

const STARTED = Symbol.for('@peftjs/test-utils/watchdog');

/** Long enough for the slowest legitimate synchronous step (a cold lavapipe shader compile takes seconds). */
const DEFAULT_STALL_MS = 180_000;

const WATCHER = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const beat = new Int32Array(workerData.buffer);
let last = Atomics.load(beat, 0);
let since = Date.now();
setInterval(() => {
  const now = Atomics.load(beat, 0);
  if (now !== last) { last = now; since = Date.now(); return; }
  const stalled = Date.now() - since;
  if (stalled < workerData.stallMs) return;
  writeSync(2, '\\n[watchdog] ' + workerData.label + ': the main thread has not run for ' + Math.round(stalled / 1000) +
    ' s (a native deadlock?); killing process ' + process.pid + ' so that the run fails instead of hanging\\n');
  process.kill(process.pid, 'SIGKILL');
}, 1000);
`;

/** Start the watchdog for this process; returns a function that stops it. */
export function startStallWatchdog(opts: { stallMs?: number; label?: string } = {}): () => void {
  const g = globalThis as Record<symbol, (() => void) | undefined>;
  const running = g[STARTED];
  if (running) return running;
  const beat = new Int32Array(new SharedArrayBuffer(4));
  const heartbeat = setInterval(() => Atomics.add(beat, 0, 1), 1000);
  heartbeat.unref();
  const worker = new Worker(WATCHER, {
    eval: true,
    execArgv: [], // the watcher is CommonJS; the parent's flags (e.g. --input-type=module, loaders) must not apply
    workerData: {
      buffer: beat.buffer,
      stallMs: opts.stallMs ?? Number(process.env.PEFTJS_STALL_MS ?? DEFAULT_STALL_MS),
      label: opts.label ?? process.env.VITEST_POOL_ID ?? 'tests',
    },
  });
  worker.unref();
  // A watchdog that cannot start must not take the tests down with it.
  worker.on('error', (e) => process.stderr.write(`[watchdog] not running: ${e.message}\n`));
  const stop = () => {
    clearInterval(heartbeat);
    void worker.terminate();
    g[STARTED] = undefined;
  };
  g[STARTED] = stop;
  return stop;
}

startStallWatchdog();

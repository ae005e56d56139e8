import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const watchdog = fileURLToPath(new URL('../src/watchdog.ts', import.meta.url));

/** Run a child that loads the watchdog, then blocks its main thread the way a native deadlock would. */
function runChild(blockMs: number, stallMs: number) {
  const script = `
    await import(${JSON.stringify(watchdog)});
    await new Promise((r) => setTimeout(r, 1500)); // let the heartbeat and the watcher start
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${blockMs}); // main thread stuck, timers frozen
    console.log('survived');
    process.exit(0);
  `;
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, PEFTJS_STALL_MS: String(stallMs) },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { ...r, seconds: (Date.now() - started) / 1000 };
}

describe('stall watchdog', () => {
  it('kills a process whose main thread is blocked longer than the limit, saying why', () => {
    const r = runChild(40_000, 2_000);
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout).not.toContain('survived');
    expect(r.stderr).toMatch(/\[watchdog\] .*main thread has not run for \d+ s/);
    expect(r.seconds).toBeLessThan(20); // not the 40 s the block would take
  });

  it('leaves a process alone when the block is shorter than the limit', () => {
    const r = runChild(1_000, 5_000);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('survived');
    expect(r.stderr).not.toContain('[watchdog]');
  });
});

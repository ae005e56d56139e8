/**
 * Helper threads for the CPU backend's WebAssembly kernels: GEMM products (gemm.wat) and elementwise jobs
 * (elementwise.wat) are split into tasks that the calling thread and helper workers run together.
 *
 * Where helpers can be started (gemm-helpers.ts: Node's worker_threads, or Web Workers in a cross-origin isolated
 * page, called from a worker) and the memory is shared, helper workers (one fewer than the available cores) execute
 * tasks of the same job as the calling thread. The call stays synchronous: the caller publishes a job in shared
 * memory, wakes the helpers, claims and runs tasks itself, then `Atomics.wait`s until every claimed task is done.
 * Tasks are claimed dynamically (compare-and-swap on a generation-tagged ticket), so a helper that is slow to start,
 * busy or missing only means the caller does more of the work. Helpers never keep a Node process alive. Without
 * SharedArrayBuffer, on a thread that may not `Atomics.wait` (a page's main thread), or with no helper source,
 * everything runs on the calling thread; {@link cpuThreading} says which.
 */
import { type HelperHost, helperHost } from './gemm-helpers.js';
import {
  ELEMENTWISE_JOB,
  GEMM_JOB,
  MAX_WORKERS,
  SCRATCH,
  SCRATCH_BYTES,
  SYNC_BASE,
  SYNC_BLOCKS,
  type WasmState,
  wasmState,
} from './wasm-memory.js';

/** Tasks are indexed by the low TICKET_BITS of the ticket; the rest is a generation tag. */
const TICKET_BITS = 10;
const TICKET_CLOSED = (1 << TICKET_BITS) - 1;

// Words of a sync block (wasm-memory.ts's SYNC_BASE + 64*(pool serial mod SYNC_BLOCKS)): a pool that is replaced
// keeps its own block, so helpers of a stopped pool that have not exited yet can never see a job of the next one.
const S_TICKET = 0; // (generation tag << TICKET_BITS) | next task index; index TICKET_CLOSED = closed
const S_DONE = 1; // tasks finished in the current job
const S_GEN = 2; // bumped for every published job; helpers wait on it
const S_NTASKS = 3; // tasks in the current job
const S_FAIL = 4; // set by a helper whose task threw
const S_ACTIVE = 5; // helpers 1..S_ACTIVE take part; -1 tells every helper to exit
const S_NPACK = 6; // tasks [0, S_NPACK) of the current job pack B; the others must wait for them
const S_PACKED = 7; // pack tasks finished in the current job
const S_KIND = 8; // what the current job's tasks run: KIND_GEMM or KIND_ELEMENTWISE
export const KIND_GEMM = 0;
export const KIND_ELEMENTWISE = 1;

interface Pool {
  workers: { terminate(): unknown }[];
  /** Int32 index of this pool's sync block in `i32`. */
  sync: number;
  /** Helpers currently taking part (≤ workers.length). */
  active: number;
  broken: boolean;
  gen: number;
}

/** undefined: not created yet; null: threads unavailable or turned off. */
let pool: Pool | null | undefined;
let poolSerial = 0;
let maxThreads = 0; // 0 = automatic (all available cores)
let canWait: boolean | undefined;

/** Iterations of polling before a thread sleeps in Atomics.wait (some tens of microseconds). */
const SPIN = 20000;

function atomicsWaitAllowed(): boolean {
  if (canWait === undefined) {
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
      canWait = true;
    } catch {
      canWait = false;
    }
  }
  return canWait;
}

function wantedHelpers(): number {
  return Math.max(0, Math.min(MAX_WORKERS, (maxThreads > 0 ? maxThreads : (helperHost()?.cores() ?? 1)) - 1));
}

function spawnHelper(s: WasmState, p: Pool, host: HelperHost): void {
  const index = p.workers.length + 1;
  const fail = () => {
    if (p.broken) return;
    p.broken = true;
    Atomics.store(s.i32, p.sync + S_ACTIVE, -1);
    Atomics.notify(s.i32, p.sync + S_GEN);
  };
  const data = {
    module: s.module,
    ewModule: s.elementwise?.module ?? null,
    memory: s.memory,
    sync: p.sync * 4,
    job: GEMM_JOB,
    ewJob: ELEMENTWISE_JOB,
    scratch: SCRATCH + index * SCRATCH_BYTES,
    index,
    bits: TICKET_BITS,
    spin: SPIN,
  };
  p.workers.push(host.spawn(data, fail));
}

/** The helper pool, sized to the current thread limit; null where helpers are unavailable or turned off. */
export function getPool(s: WasmState): Pool | null {
  const want = wantedHelpers();
  if (pool === undefined) {
    if (want < 1) return null;
    pool = null;
    if (!s.shared || !atomicsWaitAllowed()) return null;
    if (!helperHost()) return null;
    const sync = (SYNC_BASE + 64 * (poolSerial++ % SYNC_BLOCKS)) >> 2;
    s.i32.fill(0, sync, sync + 16);
    Atomics.store(s.i32, sync + S_TICKET, TICKET_CLOSED);
    pool = { workers: [], sync, active: 0, broken: false, gen: 0 };
  }
  const p = pool;
  if (!p || p.broken) return null;
  if (p.workers.length < want) {
    const host = helperHost();
    try {
      while (host && p.workers.length < want) spawnHelper(s, p, host);
    } catch {
      // keep the helpers that did start
    }
  }
  p.active = Math.min(want, p.workers.length);
  Atomics.store(s.i32, p.sync + S_ACTIVE, p.active);
  return p.active > 0 ? p : null;
}

/** Stop the helper threads; they are started again by the next large product unless threads are limited to 1. */
export function terminateGemmThreads(): void {
  const s = wasmState();
  if (pool && s) {
    Atomics.store(s.i32, pool.sync + S_ACTIVE, -1);
    Atomics.notify(s.i32, pool.sync + S_GEN);
    for (const w of pool.workers) w.terminate();
  }
  pool = undefined;
}

/**
 * Limit the threads (the calling thread included) that the wasm GEMM uses: 0 restores the default (all available
 * cores, at most 8), 1 disables helper threads.
 */
export function setGemmThreads(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`setGemmThreads: expected an integer >= 0, got ${n}`);
  maxThreads = n;
}

const stats = { jobs: 0, tasks: 0, helperTasks: 0 };

/** Counters of the threaded path: jobs published to helpers, their tasks, and how many of those helpers ran. */
export function gemmThreadStats(): { jobs: number; tasks: number; helperTasks: number } {
  return { ...stats };
}

/** How the CPU backend's GEMM uses threads here, and why. */
export interface CpuThreading {
  /** 'node-worker-threads' / 'web-workers': helper threads; 'single-thread': the calling thread only. */
  mode: 'node-worker-threads' | 'web-workers' | 'single-thread';
  /** Threads large products run on (the calling thread included). */
  threads: number;
  /** Why, in words. */
  reason: string;
  /** Threads running now (helpers start on the first large product) and the tasks helpers have run so far. */
  started: number;
  helperTasks: number;
}

/** How the CPU backend's matrix products use threads in this environment (helpers start on the first large one). */
export function cpuThreading(): CpuThreading {
  const single = (reason: string): CpuThreading => ({
    mode: 'single-thread',
    threads: 1,
    reason,
    started: 1,
    helperTasks: 0,
  });
  const s = wasmState();
  if (!s) return single('WebAssembly SIMD is unavailable (JavaScript kernels)');
  if (!s.shared) {
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
    return single(
      isolated === false
        ? 'the page is not cross-origin isolated, so there is no SharedArrayBuffer'
        : 'no shared WebAssembly memory (SharedArrayBuffer) here',
    );
  }
  if (!atomicsWaitAllowed()) return single("this thread may not block in Atomics.wait (a page's main thread)");
  const host = helperHost();
  if (!host) return single('no way to start helper threads here');
  const want = wantedHelpers();
  if (want < 1) return single(maxThreads === 1 ? 'limited to 1 thread (setGemmThreads)' : 'one core available');
  return {
    mode: host.kind,
    threads: 1 + want,
    reason:
      host.kind === 'web-workers'
        ? `cross-origin isolated: ${want} SharedArrayBuffer Web Worker helper${want > 1 ? 's' : ''}`
        : `${want} worker_threads helper${want > 1 ? 's' : ''}`,
    started: gemmThreads(),
    helperTasks: stats.helperTasks,
  };
}

/** Threads the wasm GEMM currently runs large products on (1 until the first large product starts the helpers). */
export function gemmThreads(): number {
  return pool && !pool.broken ? 1 + pool.active : 1;
}

/**
 * Run tasks [0, ntasks) of the job in the parameter block, with helpers if `p` is given. The first `npack` tasks pack
 * B; a thread that claims a later task first waits until they are all finished.
 */
export function runJob(s: WasmState, p: Pool | null, ntasks: number, npack: number, kind = KIND_GEMM): void {
  const run = kind === KIND_GEMM ? s.runTask : (s.elementwise as NonNullable<WasmState['elementwise']>).runTask;
  const job = kind === KIND_GEMM ? GEMM_JOB : ELEMENTWISE_JOB;
  if (!p || ntasks < 2) {
    for (let t = 0; t < ntasks; t++) run(job, t, SCRATCH);
    return;
  }
  const I = s.i32;
  const base = p.sync;
  const tag = (++p.gen & (0xffffffff >>> TICKET_BITS)) << TICKET_BITS;
  // Close the ticket before the job changes, so that a helper's claim based on the previous ticket fails.
  Atomics.store(I, base + S_TICKET, tag | TICKET_CLOSED);
  Atomics.store(I, base + S_NTASKS, ntasks);
  Atomics.store(I, base + S_NPACK, npack);
  Atomics.store(I, base + S_PACKED, 0);
  Atomics.store(I, base + S_DONE, 0);
  Atomics.store(I, base + S_FAIL, 0);
  Atomics.store(I, base + S_KIND, kind);
  Atomics.store(I, base + S_TICKET, tag);
  Atomics.add(I, base + S_GEN, 1);
  Atomics.notify(I, base + S_GEN);
  let mine = 0;
  for (;;) {
    const v = Atomics.load(I, base + S_TICKET);
    const t = v & TICKET_CLOSED;
    if (t >= ntasks) break;
    if (Atomics.compareExchange(I, base + S_TICKET, v, v + 1) !== v) continue;
    if (t >= npack) waitAtLeast(I, base + S_PACKED, npack);
    run(job, t, SCRATCH);
    if (t < npack) {
      Atomics.add(I, base + S_PACKED, 1);
      Atomics.notify(I, base + S_PACKED);
    }
    Atomics.add(I, base + S_DONE, 1);
    mine++;
  }
  stats.jobs++;
  stats.tasks += ntasks;
  stats.helperTasks += ntasks - mine;
  waitAtLeast(I, base + S_DONE, ntasks);
  if (Atomics.load(I, base + S_FAIL) !== 0) {
    // A helper's task threw: stop using helpers and redo the whole job here (tasks are idempotent).
    p.broken = true;
    Atomics.store(I, base + S_ACTIVE, -1);
    Atomics.notify(I, base + S_GEN);
    for (const w of p.workers) w.terminate();
    for (let t = 0; t < ntasks; t++) run(job, t, SCRATCH);
  }
}

/** Elementwise jobs with fewer items than this run on the calling thread only (waking a helper costs ~10 µs). */
export const ELEMENTWISE_THREAD_MIN = 16384;

/**
 * Run tasks [0, ntasks) of the elementwise job whose parameters the caller wrote at {@link ELEMENTWISE_JOB}
 * (elementwise.wat's run_task), on helper threads too when `threaded` and helpers can run. Synchronous.
 */
export function runElementwiseJob(ntasks: number, threaded: boolean): void {
  const s = wasmState();
  if (!s?.elementwise) throw new Error('runElementwiseJob: the elementwise module is unavailable');
  runJob(s, threaded && ntasks >= 2 ? getPool(s) : null, ntasks, 0, KIND_ELEMENTWISE);
}

/** Poll, then sleep, until I[i] >= value (the 20 ms timeout only guards against a missed notify). */
function waitAtLeast(I: Int32Array, i: number, value: number): void {
  let spins = 0;
  for (let d = Atomics.load(I, i); d < value; d = Atomics.load(I, i)) {
    if (spins < SPIN) spins++;
    else Atomics.wait(I, i, d, 20);
  }
}

/**
 * WebAssembly SIMD128 GEMM driver for the CPU backend (kernel: gemm.wat, compiled into gemm-wasm.generated.ts).
 *
 * One module instance and one linear memory per JS realm, created lazily on first use and reused: the memory only
 * grows (to what the largest product so far needed, and never beyond a fixed budget: larger products are processed in
 * row/column chunks), so repeated calls neither allocate nor leak.
 *
 * Threads: where helpers can be started (gemm-helpers.ts: Node's worker_threads, or Web Workers in a cross-origin
 * isolated page, called from a worker), the memory is shared and
 * the product is large enough, helper workers (one fewer than the available cores) execute tasks of the same job as
 * the calling thread. The call stays synchronous: the caller publishes a job in shared memory, wakes the helpers,
 * claims and runs tasks itself, then `Atomics.wait`s until every claimed task is done. Tasks are claimed dynamically
 * (compare-and-swap on a generation-tagged ticket), so a helper that is slow to start, busy or missing only means the
 * caller does more of the work. Helpers never keep a Node process alive. Without SharedArrayBuffer, on a thread that
 * may not `Atomics.wait` (a page's main thread), or with no helper source, everything runs on the calling thread;
 * {@link cpuThreading} says which.
 */
import { ELEMENTWISE_WASM_BASE64, ELEMENTWISE_WASM_SHARED_BASE64 } from './elementwise-wasm.generated.js';
import { GEMM_WASM_BASE64, GEMM_WASM_SHARED_BASE64 } from './gemm-wasm.generated.js';
import { type HelperHost, helperHost } from './gemm-helpers.js';

/** Micro-kernel tile (fixed by gemm.wat). */
const MR = 4;
const NR = 8;
/** Depth of a packed k block (floats). */
const KB = 256;
/** Rows of op(A) packed per block (multiple of MR); MCB×KB floats = 128 KiB of scratch per thread. */
const MCB = 128;
const PAGE = 65536;
/** Declared maximum of the memory (gemm.wat): 1 GiB. */
const MAX_PAGES = 16384;
/** Bytes of operands kept in linear memory at once; larger products are chunked over rows and columns of C. */
const OPERAND_BUDGET = 256 * 1024 * 1024;
let operandBudget = OPERAND_BUDGET;
/** Products with fewer multiply-adds than this run on the calling thread only. */
export const THREAD_MIN_MACS = 96 * 96 * 96;
/** Most helper workers ever started. */
const MAX_WORKERS = 7;
/** Tasks are indexed by the low TICKET_BITS of the ticket; the rest is a generation tag. */
const TICKET_BITS = 10;
const TICKET_CLOSED = (1 << TICKET_BITS) - 1;

// Fixed region at the start of linear memory.
// Sync blocks (16 Int32 words each) at SYNC_BASE + 64*(pool serial mod SYNC_BLOCKS): a pool that is replaced keeps
// its own block, so helpers of a stopped pool that have not exited yet can never see a job of the next one.
const SYNC_BASE = 0;
const SYNC_BLOCKS = 4;
const S_TICKET = 0; // (generation tag << TICKET_BITS) | next task index; index TICKET_CLOSED = closed
const S_DONE = 1; // tasks finished in the current job
const S_GEN = 2; // bumped for every published job; helpers wait on it
const S_NTASKS = 3; // tasks in the current job
const S_FAIL = 4; // set by a helper whose task threw
const S_ACTIVE = 5; // helpers 1..S_ACTIVE take part; -1 tells every helper to exit
const S_NPACK = 6; // tasks [0, S_NPACK) of the current job pack B; the others must wait for them
const S_PACKED = 7; // pack tasks finished in the current job
const S_KIND = 8; // what the current job's tasks run: KIND_GEMM or KIND_ELEMENTWISE
const KIND_GEMM = 0;
const KIND_ELEMENTWISE = 1;
const JOB = 256; // parameter block read by run_task (25 i32 words, see gemm.wat)
/** Parameter block of an elementwise job (32 i32 words, read by elementwise.wat's run_task). */
export const ELEMENTWISE_JOB = 384;
const SCRATCH = 512; // per-thread scratch areas (slot 0: the calling thread, slot w: helper w)
const SCRATCH_BYTES = align64((MCB * KB + MR * NR) * 4);

function align64(x: number): number {
  return (x + 63) & ~63;
}

type RunTask = (job: number, task: number, scratch: number) => void;

interface WasmState {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  shared: boolean;
  runTask: RunTask;
  /** The elementwise module (elementwise.wat) on the same memory, or null where it does not compile. */
  elementwise: { module: WebAssembly.Module; exports: WebAssembly.Exports; runTask: RunTask } | null;
  f32: Float32Array;
  i32: Int32Array;
  /** Scratch slots reserved after SCRATCH. */
  scratchSlots: number;
}

interface Pool {
  workers: { terminate(): unknown }[];
  /** Int32 index of this pool's sync block in `i32`. */
  sync: number;
  /** Helpers currently taking part (≤ workers.length). */
  active: number;
  broken: boolean;
  gen: number;
}

let state: WasmState | null | undefined;
/** undefined: not created yet; null: threads unavailable or turned off. */
let pool: Pool | null | undefined;
let poolSerial = 0;
let maxThreads = 0; // 0 = automatic (all available cores)
let canWait: boolean | undefined;

/** Module bytes from the base64 of a generated file. */
export function decode(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function instantiate(bytes: Uint8Array<ArrayBuffer>, shared: boolean): WasmState | null {
  if (!WebAssembly.validate(bytes)) return null; // no SIMD128 (or no threads proposal for the shared variant)
  const module = new WebAssembly.Module(bytes);
  const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared } as WebAssembly.MemoryDescriptor);
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const runTask = instance.exports.run_task as RunTask;
  let elementwise: WasmState['elementwise'] = null;
  try {
    const ewModule = new WebAssembly.Module(decode(shared ? ELEMENTWISE_WASM_SHARED_BASE64 : ELEMENTWISE_WASM_BASE64));
    const ewExports = new WebAssembly.Instance(ewModule, { env: { memory } }).exports;
    elementwise = { module: ewModule, exports: ewExports, runTask: ewExports.run_task as RunTask };
  } catch {
    elementwise = null; // the GEMM still works; elementwise kernels stay in JavaScript
  }
  return {
    module,
    memory,
    shared,
    runTask,
    elementwise,
    f32: new Float32Array(memory.buffer),
    i32: new Int32Array(memory.buffer),
    scratchSlots: 1,
  };
}

/** The wasm module instance, or null where WebAssembly SIMD is unavailable. */
function getState(): WasmState | null {
  if (state !== undefined) return state;
  state = null;
  try {
    if (typeof WebAssembly !== 'object' || typeof WebAssembly.Module !== 'function') return null;
    if (typeof SharedArrayBuffer === 'function') {
      try {
        state = instantiate(decode(GEMM_WASM_SHARED_BASE64), true);
      } catch {
        state = null;
      }
    }
    if (!state) state = instantiate(decode(GEMM_WASM_BASE64), false);
  } catch {
    state = null;
  }
  return state;
}

/** Whether the WebAssembly SIMD kernel is usable here (it is compiled on first call). */
export function wasmGemmAvailable(): boolean {
  return getState() !== null;
}

/**
 * Set the bytes of operands the wasm GEMM keeps in its memory at once (default 256 MiB); products needing more are
 * processed in chunks. Mainly for tests of the chunked path.
 */
export function setWasmGemmOperandBudget(bytes = OPERAND_BUDGET): void {
  operandBudget = bytes;
}

/** Bytes of linear memory the wasm GEMM holds (it grows to the largest product seen, within a fixed budget). */
export function wasmGemmMemoryBytes(): number {
  return state ? state.memory.buffer.byteLength : 0;
}

function ensureBytes(s: WasmState, bytes: number): boolean {
  const have = s.memory.buffer.byteLength;
  if (have >= bytes) return true;
  const pages = Math.ceil(bytes / PAGE);
  if (pages > MAX_PAGES) return false;
  try {
    s.memory.grow(pages - have / PAGE);
  } catch {
    return false;
  }
  s.f32 = new Float32Array(s.memory.buffer);
  s.i32 = new Int32Array(s.memory.buffer);
  return true;
}

/** The linear memory, and a free region of it for another module's operands (see {@link wasmKernelArena}). */
export interface WasmArena {
  memory: WebAssembly.Memory;
  shared: boolean;
  /** The elementwise module's exports on this memory (null where it did not compile). */
  elementwise: WebAssembly.Exports | null;
  /** Byte offset where the region starts (64-byte aligned). */
  base: number;
  /** Views of the whole memory as it is now (the memory may grow at the next call). */
  f32: Float32Array;
  i32: Int32Array;
}

/**
 * `bytes` of this memory past the GEMM's fixed region, for the elementwise kernels (simd.ts), or null where the
 * wasm module is unavailable or the memory cannot grow that far. The region overlaps the GEMM's operand area: both
 * are only used during a synchronous call on this thread, and the helpers touch memory only inside a GEMM job.
 */
export function wasmKernelArena(bytes: number): WasmArena | null {
  const s = getState();
  if (!s) return null;
  // a job large enough for helpers starts them first: their scratch slots come before the region
  if (pool === undefined && bytes >= 4 * ELEMENTWISE_THREAD_MIN) getPool(s);
  const base = align64(SCRATCH + s.scratchSlots * SCRATCH_BYTES);
  if (!ensureBytes(s, base + bytes)) return null;
  return {
    memory: s.memory,
    shared: s.shared,
    elementwise: s.elementwise?.exports ?? null,
    base,
    f32: s.f32,
    i32: s.i32,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Helper threads

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
    job: JOB,
    ewJob: ELEMENTWISE_JOB,
    scratch: SCRATCH + index * SCRATCH_BYTES,
    index,
    bits: TICKET_BITS,
    spin: SPIN,
  };
  p.workers.push(host.spawn(data, fail));
}

/** The helper pool, sized to the current thread limit; null where helpers are unavailable or turned off. */
function getPool(s: WasmState): Pool | null {
  const want = wantedHelpers();
  if (pool === undefined) {
    if (want < 1) return null;
    pool = null;
    if (!s.shared || !atomicsWaitAllowed()) return null;
    if (!helperHost()) return null;
    if (!ensureBytes(s, SCRATCH + (MAX_WORKERS + 1) * SCRATCH_BYTES)) return null;
    s.scratchSlots = MAX_WORKERS + 1;
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
  if (pool && state) {
    Atomics.store(state.i32, pool.sync + S_ACTIVE, -1);
    Atomics.notify(state.i32, pool.sync + S_GEN);
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
  const s = getState();
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
function runJob(s: WasmState, p: Pool | null, ntasks: number, npack: number, kind = KIND_GEMM): void {
  const run = kind === KIND_GEMM ? s.runTask : (s.elementwise as NonNullable<WasmState['elementwise']>).runTask;
  const job = kind === KIND_GEMM ? JOB : ELEMENTWISE_JOB;
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
  const s = getState();
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

// ---------------------------------------------------------------------------------------------------------------

/**
 * C[m×n] = op(A)·op(B) with the WebAssembly SIMD kernel (same contract as `gemm`). Returns false, leaving C
 * untouched, where the kernel is unavailable or the operands cannot be placed in its memory; the caller then falls
 * back to JavaScript.
 */
export function gemmWasm(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  threads = true,
): boolean {
  const s = getState();
  if (!s) return false;
  if (m === 0 || n === 0) return true;
  if (k === 0) {
    c.fill(0, 0, m * n);
    return true;
  }
  const p = threads && m * n * k >= THREAD_MIN_MACS ? getPool(s) : null;
  const T = p ? 1 + p.active : 1;

  // Chunking so that the operands stay within the budget.
  const operandBytes = (mb: number, nb: number) =>
    4 * (mb * k + k * nb + k * Math.ceil(nb / NR) * NR + mb * nb) + 4 * 64;
  let nb = n;
  let mb = m;
  if (operandBytes(m, n) > operandBudget) {
    nb = Math.min(n, Math.max(NR, Math.floor(operandBudget / 2 / (8 * k) / NR) * NR));
    mb = Math.min(m, Math.max(MR, Math.floor(operandBudget / 2 / (4 * (k + nb)) / MR) * MR));
    if (operandBytes(mb, nb) > operandBudget * 1.5) return false;
  }
  const slots = Math.max(T, s.scratchSlots, 1);
  const aOff = SCRATCH + slots * SCRATCH_BYTES;
  const bOff = aOff + align64(4 * mb * k);
  const pbOff = bOff + align64(4 * k * nb);
  const cOff = pbOff + align64(4 * k * Math.ceil(nb / NR) * NR);
  if (!ensureBytes(s, cOff + 4 * mb * nb)) return false;
  s.scratchSlots = slots;

  const J = JOB >> 2;
  s.i32[J + 20] = 0; // not a batched job
  for (let j0 = 0; j0 < n; j0 += nb) {
    const nc = Math.min(nb, n - j0);
    const nPad = Math.ceil(nc / NR) * NR;
    const nStrips = nPad / NR;
    let f32 = s.f32;
    // op(B)[:, j0:j0+nc] → bOff
    let rsB: number;
    let csB: number;
    if (transB) {
      // stored [n×k]: column j of op(B) is row j of the stored matrix
      f32.set(b.subarray(j0 * k, (j0 + nc) * k), bOff >> 2);
      rsB = 4;
      csB = 4 * k;
    } else {
      if (nc === n) f32.set(b.subarray(0, k * n), bOff >> 2);
      else for (let q = 0; q < k; q++) f32.set(b.subarray(q * n + j0, q * n + j0 + nc), (bOff >> 2) + q * nc);
      rsB = 4 * nc;
      csB = 4;
    }
    const I = s.i32;
    I[J + 4] = bOff;
    I[J + 5] = rsB;
    I[J + 6] = csB;
    I[J + 7] = pbOff;
    I[J + 11] = nc;
    I[J + 12] = k;
    I[J + 13] = nPad;
    I[J + 14] = KB;
    I[J + 15] = MCB;
    I[J + 16] = Math.ceil(nStrips / (T > 1 ? Math.min(nStrips, 2 * T) : 1));
    let packTasks = Math.ceil(nStrips / I[J + 16]); // B is packed by the first job of this column chunk

    for (let i0 = 0; i0 < m; i0 += mb) {
      const mc = Math.min(mb, m - i0);
      f32 = s.f32;
      let rsA: number;
      let csA: number;
      if (transA) {
        // stored [k×m]: op(A)[i][q] = a[q*m + i]
        if (mc === m) f32.set(a.subarray(0, k * m), aOff >> 2);
        else for (let q = 0; q < k; q++) f32.set(a.subarray(q * m + i0, q * m + i0 + mc), (aOff >> 2) + q * mc);
        rsA = 4;
        csA = 4 * mc;
      } else {
        f32.set(a.subarray(i0 * k, (i0 + mc) * k), aOff >> 2);
        rsA = 4 * k;
        csA = 4;
      }
      // Task grid: about 4 tasks per thread, splitting rows first (at least 16 rows per task), then columns.
      let rowsPerTask = mc;
      let stripsPerTask = nStrips;
      if (T > 1) {
        const target = 4 * T;
        rowsPerTask = Math.max(16, Math.ceil(mc / target / MR) * MR);
        const rowTasks = Math.ceil(mc / rowsPerTask);
        const colTasks = Math.max(1, Math.min(Math.ceil(target / rowTasks), Math.floor(nStrips / 4)));
        stripsPerTask = Math.ceil(nStrips / colTasks);
      }
      const rowTasks = Math.ceil(mc / rowsPerTask);
      const colTasks = Math.ceil(nStrips / stripsPerTask);
      I[J + 0] = packTasks;
      I[J + 1] = aOff;
      I[J + 2] = rsA;
      I[J + 3] = csA;
      I[J + 8] = cOff;
      I[J + 9] = 4 * nc;
      I[J + 10] = mc;
      I[J + 17] = rowsPerTask;
      I[J + 18] = stripsPerTask;
      I[J + 19] = rowTasks;
      runJob(s, p, packTasks + rowTasks * colTasks, packTasks);
      packTasks = 0;

      f32 = s.f32;
      if (nc === n) c.set(f32.subarray(cOff >> 2, (cOff >> 2) + mc * n), i0 * n);
      else
        for (let i = 0; i < mc; i++)
          c.set(f32.subarray((cOff >> 2) + i * nc, (cOff >> 2) + (i + 1) * nc), (i0 + i) * n + j0);
    }
  }
  return true;
}

/**
 * C[i] = op(A[i])·op(B[i]) for i < batch, C stored [batch, m, n]: one wasm job whose tasks are the batch entries, so
 * the operands are copied in once and helper threads take entries where the work is large enough. `shareA` /
 * `shareB`: one matrix serves every entry. Each entry is computed exactly as `gemmWasm` computes it alone (the same
 * blocking, so the same bits). Returns false, leaving C untouched, where the kernel is unavailable or the operands do
 * not fit the budget; the caller then loops over single products.
 */
export function gemmWasmBatched(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  batch: number,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  shareA: boolean,
  shareB: boolean,
  threads = true,
): boolean {
  const s = getState();
  if (!s) return false;
  if (batch === 0 || m === 0 || n === 0) return true;
  if (k === 0) {
    c.fill(0, 0, batch * m * n);
    return true;
  }
  const nPad = Math.ceil(n / NR) * NR;
  const aLen = (shareA ? 1 : batch) * m * k;
  const bLen = (shareB ? 1 : batch) * k * n;
  const pbLen = batch * k * nPad;
  const cLen = batch * m * n;
  if (4 * (aLen + bLen + pbLen + cLen) + 4 * 64 * 4 > operandBudget) return false;
  const p = threads && batch >= 2 && batch * m * n * k >= THREAD_MIN_MACS ? getPool(s) : null;
  const T = p ? 1 + p.active : 1;
  const slots = Math.max(T, s.scratchSlots, 1);
  const aOff = SCRATCH + slots * SCRATCH_BYTES;
  const bOff = aOff + align64(4 * aLen);
  const pbOff = bOff + align64(4 * bLen);
  const cOff = pbOff + align64(4 * pbLen);
  if (!ensureBytes(s, cOff + 4 * cLen)) return false;
  s.scratchSlots = slots;
  s.f32.set(a.subarray(0, aLen), aOff >> 2);
  s.f32.set(b.subarray(0, bLen), bOff >> 2);
  const I = s.i32;
  const J = JOB >> 2;
  I.fill(0, J, J + 25);
  I[J + 1] = aOff;
  I[J + 2] = transA ? 4 : 4 * k; // stored [k×m] when transposed
  I[J + 3] = transA ? 4 * m : 4;
  I[J + 4] = bOff;
  I[J + 5] = transB ? 4 : 4 * n; // stored [n×k] when transposed
  I[J + 6] = transB ? 4 * k : 4;
  I[J + 7] = pbOff;
  I[J + 8] = cOff;
  I[J + 9] = 4 * n;
  I[J + 10] = m;
  I[J + 11] = n;
  I[J + 12] = k;
  I[J + 13] = nPad;
  I[J + 14] = KB;
  I[J + 15] = MCB;
  I[J + 20] = batch;
  I[J + 21] = shareA ? 0 : 4 * m * k;
  I[J + 22] = shareB ? 0 : 4 * k * n;
  I[J + 23] = 4 * m * n;
  I[J + 24] = 4 * k * nPad;
  runJob(s, p, batch, 0);
  I[J + 20] = 0;
  c.set(s.f32.subarray(cOff >> 2, (cOff >> 2) + cLen));
  return true;
}

/**
 * WebAssembly SIMD128 GEMM driver for the CPU backend (kernel: gemm.wat, compiled into gemm-wasm.generated.ts), on
 * the memory of wasm-memory.ts, with the helper threads of wasm-threads.ts.
 *
 * Operands that live on the wasm heap (the CPU backend's large f32 tensors, where the memory is shared) are read and
 * written in place; others are copied into a scratch region for the call, and larger products than the operand
 * budget are processed in row/column chunks, so repeated calls neither allocate nor leak.
 */
import { align64, GEMM_JOB as JOB, heapOffset, scratchRegion, wasmState } from './wasm-memory.js';
import { getPool, runJob } from './wasm-threads.js';

export { decode } from './wasm-memory.js';
export {
  cpuThreading,
  type CpuThreading,
  gemmThreadStats,
  gemmThreads,
  setGemmThreads,
  terminateGemmThreads,
} from './wasm-threads.js';

/** Micro-kernel tile (fixed by gemm.wat). */
const MR = 4;
const NR = 8;
/** Depth of a packed k block (floats). */
const KB = 256;
/** Rows of op(A) packed per block (multiple of MR); MCB×KB floats = 128 KiB of scratch per thread. */
const MCB = 128;
/** Bytes of operands kept in linear memory at once; larger products are chunked over rows and columns of C. */
const OPERAND_BUDGET = 256 * 1024 * 1024;
let operandBudget = OPERAND_BUDGET;
/** Products with fewer multiply-adds than this run on the calling thread only. */
export const THREAD_MIN_MACS = 96 * 96 * 96;

/**
 * Attention's causal structure for a product (gemm.wat's modes): row i of C (of each batch entry) is query
 * i mod `period`, whose last visible key is (i mod period) + `offset`. `output`: C's entries past it are computed
 * as 0 (not computed at all). `zerosInA`: op(A)'s entries past it are zero (the caller guarantees it), so the sums
 * stop there; the result is the plain product's.
 */
export interface CausalRule {
  mode: 'output' | 'zerosInA';
  period: number;
  offset: number;
}

/** Set C's entries past each row's last visible column to 0 (the `output` rule, for paths that computed them). */
export function zeroHidden(c: Float32Array, m: number, n: number, causal: CausalRule): void {
  for (let i = 0; i < m; i++) {
    const first = Math.max(0, (i % causal.period) + causal.offset + 1);
    if (first < n) c.fill(0, i * n + first, (i + 1) * n);
  }
}

function setCausal(I: Int32Array, J: number, causal: CausalRule | undefined): void {
  I[J + 25] = causal ? (causal.mode === 'output' ? 1 : 2) : 0;
  I[J + 26] = causal ? causal.period : 1;
  I[J + 27] = causal ? causal.offset : 0;
}

/** Whether the WebAssembly SIMD kernel is usable here (it is compiled on first call). */
export function wasmGemmAvailable(): boolean {
  return wasmState() !== null;
}

/**
 * Set the bytes of operands the wasm GEMM keeps in its memory at once (default 256 MiB); products needing more are
 * processed in chunks. Mainly for tests of the chunked path.
 */
export function setWasmGemmOperandBudget(bytes = OPERAND_BUDGET): void {
  operandBudget = bytes;
}

/** Bytes of linear memory the wasm kernels hold (scratch and, where shared, the heap of tensor storage). */
export function wasmGemmMemoryBytes(): number {
  const s = wasmState();
  return s ? s.memory.buffer.byteLength : 0;
}

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
  causal?: CausalRule,
): boolean {
  const s = wasmState();
  if (!s) return false;
  if (m === 0 || n === 0) return true;
  if (k === 0) {
    c.fill(0, 0, m * n);
    return true;
  }
  const p = threads && m * n * k >= THREAD_MIN_MACS ? getPool(s) : null;
  // operands on the heap are used where they are (no chunking: the chunks would be gathered copies anyway)
  const aHeap = heapOffset(a);
  const bHeap = heapOffset(b);
  const cHeap = heapOffset(c);
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
  const whole = mb === m && nb === n;
  const aInPlace = whole && aHeap >= 0;
  const bInPlace = whole && bHeap >= 0;
  const cInPlace = whole && cHeap >= 0;
  const aBytes = aInPlace ? 0 : align64(4 * mb * k);
  const bBytes = bInPlace ? 0 : align64(4 * k * nb);
  const pbBytes = align64(4 * k * Math.ceil(nb / NR) * NR);
  const region = scratchRegion(s, aBytes + bBytes + pbBytes + (cInPlace ? 0 : 4 * mb * nb));
  if (region < 0) return false;
  const aOff = aInPlace ? aHeap : region;
  const bOff = bInPlace ? bHeap : region + aBytes;
  const pbOff = region + aBytes + bBytes;
  const cOff = cInPlace ? cHeap : pbOff + pbBytes;

  const J = JOB >> 2;
  s.i32[J + 20] = 0; // not a batched job
  // the causal rule needs the product's own row numbers: row chunks (over the budget) compute it whole instead
  setCausal(s.i32, J, whole ? causal : undefined);
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
      if (!bInPlace) f32.set(b.subarray(j0 * k, (j0 + nc) * k), bOff >> 2);
      rsB = 4;
      csB = 4 * k;
    } else {
      if (bInPlace) {
        // read where it is
      } else if (nc === n) f32.set(b.subarray(0, k * n), bOff >> 2);
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
        if (aInPlace) {
          // read where it is
        } else if (mc === m) f32.set(a.subarray(0, k * m), aOff >> 2);
        else for (let q = 0; q < k; q++) f32.set(a.subarray(q * m + i0, q * m + i0 + mc), (aOff >> 2) + q * mc);
        rsA = 4;
        csA = 4 * mc;
      } else {
        if (!aInPlace) f32.set(a.subarray(i0 * k, (i0 + mc) * k), aOff >> 2);
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
      if (cInPlace) continue; // written where it is
      if (nc === n) c.set(f32.subarray(cOff >> 2, (cOff >> 2) + mc * n), i0 * n);
      else
        for (let i = 0; i < mc; i++)
          c.set(f32.subarray((cOff >> 2) + i * nc, (cOff >> 2) + (i + 1) * nc), (i0 + i) * n + j0);
    }
  }
  if (causal?.mode === 'output' && !whole) zeroHidden(c, m, n, causal);
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
  causal?: CausalRule,
): boolean {
  const s = wasmState();
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
  // operands on the heap are used where they are
  const aHeap = heapOffset(a);
  const bHeap = heapOffset(b);
  const cHeap = heapOffset(c);
  const aBytes = aHeap >= 0 ? 0 : align64(4 * aLen);
  const bBytes = bHeap >= 0 ? 0 : align64(4 * bLen);
  const pbBytes = align64(4 * pbLen);
  const region = scratchRegion(s, aBytes + bBytes + pbBytes + (cHeap >= 0 ? 0 : 4 * cLen));
  if (region < 0) return false;
  const aOff = aHeap >= 0 ? aHeap : region;
  const bOff = bHeap >= 0 ? bHeap : region + aBytes;
  const pbOff = region + aBytes + bBytes;
  const cOff = cHeap >= 0 ? cHeap : pbOff + pbBytes;
  if (aHeap < 0) s.f32.set(a.subarray(0, aLen), aOff >> 2);
  if (bHeap < 0) s.f32.set(b.subarray(0, bLen), bOff >> 2);
  const I = s.i32;
  const J = JOB >> 2;
  I.fill(0, J, J + 28);
  setCausal(I, J, causal);
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
  setCausal(I, J, undefined);
  if (cHeap < 0) c.set(s.f32.subarray(cOff >> 2, (cOff >> 2) + cLen));
  return true;
}

/**
 * C[m×n] = op(A)·op(B) in float32, where op transposes when the flag is set (A is stored [k×m] if transA, B is
 * stored [n×k] if transB). All paths are synchronous and overwrite C[0 : m*n].
 *
 * Paths:
 *  - tiny products (≤ SMALL_MACS multiply-adds, where the ~1 µs fixed cost of the wasm call dominates) and
 *    environments without WebAssembly SIMD: `gemmJs`, a portable packed, register-blocked JavaScript kernel;
 *  - everything else: the WebAssembly SIMD128 kernel (gemm-wasm.ts / gemm.wat), multi-threaded in Node for large
 *    products.
 */
import { type CausalRule, gemmWasm, gemmWasmBatched, THREAD_MIN_MACS, zeroHidden } from './gemm-wasm.js';

export {
  gemmThreadStats,
  gemmThreads,
  gemmWasm,
  setGemmThreads,
  terminateGemmThreads,
  wasmGemmAvailable,
} from './gemm-wasm.js';

/** Products with at most this many multiply-adds stay in JavaScript (measured crossover: about 10³). */
export const SMALL_MACS = 1000;

export function gemm(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  causal?: CausalRule,
): void {
  if (m * n * k > SMALL_MACS && gemmWasm(a, b, c, m, n, k, transA, transB, true, causal)) return;
  gemmJs(a, b, c, m, n, k, transA, transB);
  if (causal?.mode === 'output') zeroHidden(c, m, n, causal);
}

/**
 * C[i] = op(A[i])·op(B[i]) for i < batch (C [batch, m, n]; `shareA` / `shareB`: one matrix for every entry), the
 * same bits as `gemm` per entry. Entries too small to be split over threads themselves (attention's per-head
 * products) run as one wasm job over all entries, which copies the operands once and lets helper threads take whole
 * entries; tiny entries (JavaScript) and large ones (threaded each) loop over `gemm`.
 */
export function gemmBatched(
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
  causal?: CausalRule,
): void {
  const macs = m * n * k;
  // whole entries per task: for small entries, and for mid-sized ones when there are enough to share out
  const entryTasks = macs < THREAD_MIN_MACS || (batch >= 8 && macs < 8 * THREAD_MIN_MACS);
  if (
    batch > 1 &&
    macs > SMALL_MACS &&
    entryTasks &&
    gemmWasmBatched(a, b, c, batch, m, n, k, transA, transB, shareA, shareB, true, causal)
  )
    return;
  for (let i = 0; i < batch; i++) {
    gemm(
      a.subarray((shareA ? 0 : i) * m * k, (shareA ? 1 : i + 1) * m * k),
      b.subarray((shareB ? 0 : i) * k * n, (shareB ? 1 : i + 1) * k * n),
      c.subarray(i * m * n, (i + 1) * m * n),
      m,
      n,
      k,
      transA,
      transB,
      causal,
    );
  }
}

// Portable JavaScript kernel: GotoBLAS-style blocking with a 4×4 register tile, operands packed into float64 panels.
const JS_KC = 256;
const JS_MC = 64;
const JS_NC = 2048;
let jsPackA = new Float64Array(0);
let jsPackB = new Float64Array(0);

/** Portable JavaScript GEMM (no WebAssembly), same contract as `gemm`. */
export function gemmJs(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
): void {
  if (m === 0 || n === 0) return;
  if (k === 0) {
    c.fill(0, 0, m * n);
    return;
  }
  const ars = transA ? 1 : k;
  const acs = transA ? m : 1;
  const brs = transB ? 1 : n;
  const bcs = transB ? k : 1;
  const kcMax = Math.min(JS_KC, k);
  const needA = JS_MC * kcMax;
  const needB = Math.min(JS_NC, (n + 3) & ~3) * kcMax;
  if (jsPackA.length < needA) jsPackA = new Float64Array(needA);
  if (jsPackB.length < needB) jsPackB = new Float64Array(needB);
  const pa = jsPackA;
  const pb = jsPackB;
  for (let jc = 0; jc < n; jc += JS_NC) {
    const nc = Math.min(JS_NC, n - jc);
    for (let p0 = 0; p0 < k; p0 += JS_KC) {
      const kc = Math.min(JS_KC, k - p0);
      const accum = p0 > 0;
      // B panel: strips of 4 columns, [kc][4] each, zero-padded past n.
      for (let s = 0; s < nc; s += 4) {
        const cols = Math.min(4, nc - s);
        let o = s * kc;
        for (let p = 0; p < kc; p++, o += 4) {
          const src = (p0 + p) * brs + (jc + s) * bcs;
          for (let j = 0; j < 4; j++) pb[o + j] = j < cols ? b[src + j * bcs] : 0;
        }
      }
      for (let ic = 0; ic < m; ic += JS_MC) {
        const mc = Math.min(JS_MC, m - ic);
        for (let r = 0; r < mc; r += 4) {
          const rows = Math.min(4, mc - r);
          let o = r * kc;
          for (let p = 0; p < kc; p++, o += 4) {
            const src = (ic + r) * ars + (p0 + p) * acs;
            for (let i = 0; i < 4; i++) pa[o + i] = i < rows ? a[src + i * ars] : 0;
          }
        }
        for (let s = 0; s < nc; s += 4) {
          const cols = Math.min(4, nc - s);
          for (let r = 0; r < mc; r += 4) {
            const rows = Math.min(4, mc - r);
            let c00 = 0,
              c01 = 0,
              c02 = 0,
              c03 = 0,
              c10 = 0,
              c11 = 0,
              c12 = 0,
              c13 = 0;
            let c20 = 0,
              c21 = 0,
              c22 = 0,
              c23 = 0,
              c30 = 0,
              c31 = 0,
              c32 = 0,
              c33 = 0;
            let ia = r * kc;
            let ib = s * kc;
            const end = ia + 4 * kc;
            for (; ia < end; ia += 4, ib += 4) {
              const a0 = pa[ia],
                a1 = pa[ia + 1],
                a2 = pa[ia + 2],
                a3 = pa[ia + 3];
              const b0 = pb[ib],
                b1 = pb[ib + 1],
                b2 = pb[ib + 2],
                b3 = pb[ib + 3];
              c00 += a0 * b0;
              c01 += a0 * b1;
              c02 += a0 * b2;
              c03 += a0 * b3;
              c10 += a1 * b0;
              c11 += a1 * b1;
              c12 += a1 * b2;
              c13 += a1 * b3;
              c20 += a2 * b0;
              c21 += a2 * b1;
              c22 += a2 * b2;
              c23 += a2 * b3;
              c30 += a3 * b0;
              c31 += a3 * b1;
              c32 += a3 * b2;
              c33 += a3 * b3;
            }
            const o = (ic + r) * n + jc + s;
            if (rows === 4 && cols === 4) {
              if (accum) {
                c[o] += c00;
                c[o + 1] += c01;
                c[o + 2] += c02;
                c[o + 3] += c03;
                const o1 = o + n,
                  o2 = o1 + n,
                  o3 = o2 + n;
                c[o1] += c10;
                c[o1 + 1] += c11;
                c[o1 + 2] += c12;
                c[o1 + 3] += c13;
                c[o2] += c20;
                c[o2 + 1] += c21;
                c[o2 + 2] += c22;
                c[o2 + 3] += c23;
                c[o3] += c30;
                c[o3 + 1] += c31;
                c[o3 + 2] += c32;
                c[o3 + 3] += c33;
              } else {
                c[o] = c00;
                c[o + 1] = c01;
                c[o + 2] = c02;
                c[o + 3] = c03;
                const o1 = o + n,
                  o2 = o1 + n,
                  o3 = o2 + n;
                c[o1] = c10;
                c[o1 + 1] = c11;
                c[o1 + 2] = c12;
                c[o1 + 3] = c13;
                c[o2] = c20;
                c[o2 + 1] = c21;
                c[o2 + 2] = c22;
                c[o2 + 3] = c23;
                c[o3] = c30;
                c[o3 + 1] = c31;
                c[o3 + 2] = c32;
                c[o3 + 3] = c33;
              }
            } else {
              const t = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
              for (let i = 0; i < rows; i++)
                for (let j = 0; j < cols; j++) {
                  const q = o + i * n + j;
                  c[q] = accum ? c[q] + t[i * 4 + j] : t[i * 4 + j];
                }
            }
          }
        }
      }
    }
  }
}

/** rows×cols → cols×rows. */
export function transpose2d(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  const T = 32;
  for (let i0 = 0; i0 < rows; i0 += T) {
    for (let j0 = 0; j0 < cols; j0 += T) {
      const i1 = Math.min(rows, i0 + T);
      const j1 = Math.min(cols, j0 + T);
      for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) out[j * rows + i] = x[i * cols + j];
    }
  }
  return out;
}

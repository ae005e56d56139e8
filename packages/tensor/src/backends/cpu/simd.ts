/**
 * WebAssembly SIMD128 elementwise kernels (elementwise.wat) for the CPU backend's hot f32 paths: binary + − × ÷,
 * dropout, and sigmoid / SiLU with their gradients. Their results are bit-identical to the JavaScript loops they
 * replace (see elementwise.wat; the sigmoids use math.ts's expNeg, a fixed sequence of float64 operations), so callers use them whenever
 * they are available and fall back to JavaScript otherwise.
 *
 * Tensors live in JavaScript Float32Arrays, so a kernel copies its operands into the GEMM's linear memory
 * (gemm-wasm.ts, `wasmKernelArena`), runs there and copies the result out: a TypedArray copy is ~10× cheaper per
 * element than V8's scalar loop over Float32Arrays, so the round trip still wins by ~3× for + − × ÷ and far more for
 * dropout's hash. The module shares the GEMM's memory, shared or not, so it works wherever the GEMM does.
 */
import type { BinaryOp } from '../../kernels.js';
import type { Shape } from '../../shape.js';
import { collapseBroadcast } from './broadcast.js';
import { ELEMENTWISE_JOB, heapOffset, SCRATCH_BYTES, wasmKernelArena } from './wasm-memory.js';
import { ELEMENTWISE_THREAD_MIN, runElementwiseJob } from './wasm-threads.js';
import { sigmoid } from '../../math.js';

/** Outputs smaller than this stay in JavaScript (the fixed cost of the copies and the call dominates). */
export const SIMD_MIN_ELEMENTS = 1024;

interface ElementwiseExports {
  binary(
    op: number,
    out: number,
    a: number,
    ars: number,
    b: number,
    brs: number,
    sb: number,
    rows: number,
    n: number,
  ): void;
  dropout(
    x: number,
    out: number,
    n: number,
    lo: number,
    hi: number,
    k0: number,
    k1: number,
    p: number,
    scale: number,
  ): void;
  sigmoid(x: number, out: number, n: number, silu: number): void;
  sigmoid_grad(x: number, dy: number, out: number, n: number, silu: number): void;
  silu_mul(g: number, up: number, out: number, n: number): void;
  silu_mul_grad(g: number, up: number, dy: number, dgate: number, dup: number, n: number): void;
}

/** Kernel calls the SIMD path has run, per kernel (for tests: proof the path was taken). */
export const simdCalls = {
  binary: 0,
  dropout: 0,
  sigmoid: 0,
  sigmoidGrad: 0,
  siluMul: 0,
  siluMulGrad: 0,
  softmax: 0,
  softmaxGrad: 0,
  sumMiddle: 0,
  swapMiddle: 0,
  doraCombine: 0,
  doraCombineGrad: 0,
};
let enabled = true;

/** Turn the SIMD elementwise kernels off (false) or back on, e.g. to compare them with the JavaScript loops. */
export function setCpuSimdElementwise(on: boolean): void {
  enabled = on;
}

export interface Arena {
  k: ElementwiseExports;
  base: number;
  f32: Float32Array;
  i32: Int32Array;
}

/** Room for `bytes` of operands in linear memory and the kernels instantiated on it, or null (use JavaScript). */
export function arena(bytes: number): Arena | null {
  if (!enabled) return null;
  const a = wasmKernelArena(bytes);
  if (!a?.elementwise) return null;
  return { k: a.elementwise as unknown as ElementwiseExports, base: a.base, f32: a.f32, i32: a.i32 };
}

/** Job codes of elementwise.wat's run_task. */
const OP = {
  binary: 0,
  dropout: 1,
  sigmoid: 2,
  sigmoidGrad: 3,
  siluMul: 4,
  siluMulGrad: 5,
  softmax: 6,
  binaryFlat: 7,
  softmaxGrad: 8,
  sumMiddle: 15,
  swapMiddle: 16,
  doraCombine: 17,
  doraCombineGrad: 18,
} as const;
/** Most tasks one elementwise job is split into, and the least elements a task gets. */
const MAX_TASKS = 16;
const TASK_MIN_ELEMENTS = 8192;

/**
 * Run `op` over `count` items (rows of `itemElements` for binary, elements for the others) as one job of
 * elementwise.wat's run_task, split into tasks that helper threads share when the job is large. `ints` and then
 * `floats` (stored as f32) are the op's arguments.
 */
export function runOp(
  mem: Arena,
  op: number,
  count: number,
  itemElements: number,
  ints: number[],
  floats: number[] = [],
): void {
  const elements = count * itemElements;
  const tasks =
    elements >= ELEMENTWISE_THREAD_MIN ? Math.min(MAX_TASKS, count, Math.floor(elements / TASK_MIN_ELEMENTS)) : 1;
  let chunk = Math.ceil(count / Math.max(tasks, 1));
  if (itemElements === 1) chunk = (chunk + 3) & ~3; // whole SIMD vectors per task
  const J = ELEMENTWISE_JOB >> 2;
  const I = mem.i32;
  I[J] = op;
  I[J + 1] = count;
  I[J + 2] = chunk;
  for (let i = 0; i < ints.length; i++) I[J + 3 + i] = ints[i];
  for (let i = 0; i < floats.length; i++) mem.f32[J + 3 + ints.length + i] = floats[i];
  runElementwiseJob(Math.ceil(count / chunk), tasks > 1);
}

/** Whether the SIMD elementwise kernels run here. */
export function cpuSimdElementwiseAvailable(): boolean {
  return arena(0) !== null;
}

const OP_CODE: Partial<Record<BinaryOp, number>> = { add: 0, sub: 1, mul: 2, div: 3 };
const COMMUTATIVE: Partial<Record<BinaryOp, boolean>> = { add: true, mul: true };

export const align = (bytes: number) => (bytes + 63) & ~63;

/** A kernel call's operands in linear memory: byte offsets of the inputs, then of the outputs. */
export interface Placed {
  mem: Arena;
  at: number[];
  /** Copy the outputs that are not on the heap out of the scratch region. */
  finish(): void;
}

type View = Float32Array | Int32Array;
const viewOf = (mem: Arena, v: View): View => (v instanceof Int32Array ? mem.i32 : mem.f32);

/**
 * Place a call's operands: arrays on the wasm heap (the CPU backend's large f32 tensors) where they are, the others
 * copied into the scratch region (inputs now, outputs by `finish`). `slack`: bytes readable past each copied
 * operand (the heap keeps such a tail past its top). Null without the kernels.
 */
export function place(inputs: View[], outputs: View[], slack = 0): Placed | null {
  const all = [...inputs, ...outputs];
  const at = all.map((v) => heapOffset(v));
  let bytes = 0;
  const local: number[] = [];
  for (let i = 0; i < all.length; i++) {
    if (at[i] >= 0) continue;
    const first = i < inputs.length ? all.indexOf(all[i]) : i; // an input given twice is copied once
    if (first < i) continue;
    local[i] = bytes;
    bytes += align(all[i].byteLength + slack);
  }
  const mem = arena(bytes);
  if (!mem) return null;
  for (let i = 0; i < all.length; i++) {
    if (at[i] >= 0) continue;
    const first = i < inputs.length ? all.indexOf(all[i]) : i;
    at[i] = first < i ? at[first] : mem.base + local[i];
    if (i < inputs.length && first === i) viewOf(mem, all[i]).set(all[i], at[i] >> 2);
  }
  return {
    mem,
    at,
    finish() {
      for (let j = 0; j < outputs.length; j++) {
        const o = outputs[j];
        const i = inputs.length + j;
        if (heapOffset(o) < 0) o.set(viewOf(mem, o).subarray(at[i] >> 2, (at[i] >> 2) + o.length));
      }
    },
  };
}

/**
 * out = a op b (f32, broadcast to `shape`) with the SIMD kernel; false (out untouched) where the op or the broadcast
 * pattern has no SIMD form: the innermost collapsed axis must read a contiguously and b contiguously or as one
 * value (or the other way round for + and ×).
 */
export function simdBinary(
  op: BinaryOp,
  out: Float32Array,
  av: Float32Array,
  aShape: Shape,
  bv: Float32Array,
  bShape: Shape,
  shape: Shape,
): boolean {
  const code = OP_CODE[op];
  if (code === undefined || out.length < SIMD_MIN_ELEMENTS) return false;
  const { shape: cs, strides } = collapseBroadcast(shape, [aShape, bShape]);
  let [sa, sb] = strides;
  let x = av;
  let y = bv;
  const rank = cs.length;
  if (rank === 0) return false;
  if (sa[rank - 1] !== 1) {
    if (!COMMUTATIVE[op] || sb[rank - 1] !== 1 || sa[rank - 1] !== 0) return false;
    [sa, sb, x, y] = [sb, sa, bv, av]; // b op a, the same value for + and × (also for NaN: any NaN is a NaN)
  }
  const sbInner = sb[rank - 1];
  if (sbInner !== 0 && sbInner !== 1) return false;
  const placed = place([x, y], [out]);
  if (!placed) return false;
  const { mem } = placed;
  const [A, B, O] = placed.at;
  // one call covers the last two collapsed axes; any outer axes are walked here
  const n = cs[rank - 1];
  const rows = rank >= 2 ? cs[rank - 2] : 1;
  const ars = rank >= 2 ? 4 * sa[rank - 2] : 0;
  const brs = rank >= 2 ? 4 * sb[rank - 2] : 0;
  const outer = out.length / (rows * n);
  if (rows === 1 && outer === 1) runOp(mem, OP.binaryFlat, n, 1, [code, O, A, B, sbInner]);
  else if (outer === 1) runOp(mem, OP.binary, rows, n, [code, O, A, ars, B, brs, sbInner, n]);
  else {
    const idx = new Array<number>(Math.max(rank - 2, 0)).fill(0);
    let ia = 0;
    let ib = 0;
    for (let o = 0; o < outer; o++) {
      mem.k.binary(code, O + 4 * o * rows * n, A + 4 * ia, ars, B + 4 * ib, brs, sbInner, rows, n);
      for (let ax = rank - 3; ax >= 0; ax--) {
        idx[ax]++;
        ia += sa[ax];
        ib += sb[ax];
        if (idx[ax] < cs[ax]) break;
        ia -= sa[ax] * cs[ax];
        ib -= sb[ax] * cs[ax];
        idx[ax] = 0;
      }
    }
  }
  placed.finish();
  simdCalls.binary++;
  return true;
}

/**
 * Dropout of x into out with the SIMD kernel, bit for bit the JavaScript loop of kernels/dropout.ts: counter
 * (lo, hi) for element 0, u ≥ p32 keeps x·scale. False (out untouched) where the kernel is unavailable.
 */
export function simdDropout(
  x: Float32Array,
  out: Float32Array,
  lo: number,
  hi: number,
  k0: number,
  k1: number,
  p32: number,
  scale: number,
): boolean {
  const n = x.length;
  if (n < SIMD_MIN_ELEMENTS) return false;
  const placed = place([x], [out]);
  if (!placed) return false;
  const [X, O] = placed.at;
  runOp(placed.mem, OP.dropout, n, 1, [X, O, lo | 0, hi | 0, k0 | 0, k1 | 0], [p32, scale]);
  placed.finish();
  simdCalls.dropout++;
  return true;
}

let sigmoidMatches: boolean | undefined;

/**
 * Whether the kernels' sigmoid gives math.ts's bits here (checked once over a spread of inputs). Both evaluate
 * expNeg as the same float64 operations, so they agree wherever float64 arithmetic is IEEE and not contracted into
 * fused multiply-adds; the kernels stay off if not. (The softmax and cross-entropy kernels port V8's Math.exp.)
 */
export function simdSigmoidMatchesMathExp(): boolean {
  if (sigmoidMatches !== undefined) return sigmoidMatches;
  const n = 4096;
  const probe = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = (i * 0.6180339887498949) % 1;
    probe[i] = i % 4 === 0 ? (t - 0.5) * 1e-3 : i % 4 === 1 ? (t - 0.5) * 3 : (t - 0.5) * 60 * (1 + (i % 7));
  }
  const mem = arena(4 * n);
  if (!mem) return false; // no kernel at all (not cached: the memory may become available)
  mem.f32.set(probe, mem.base >> 2);
  mem.k.sigmoid(mem.base, mem.base, n, 0);
  const got = mem.f32.subarray(mem.base >> 2, (mem.base >> 2) + n);
  sigmoidMatches = true;
  for (let i = 0; i < n && sigmoidMatches; i++) if (got[i] !== Math.fround(sigmoid(probe[i]))) sigmoidMatches = false;
  return sigmoidMatches;
}

/** out = sigmoid(x), or x·sigmoid(x) for SiLU, as unary.ts computes them. False (out untouched) without the kernel. */
export function simdSigmoid(x: Float32Array, out: Float32Array, silu: boolean): boolean {
  const n = x.length;
  if (n < SIMD_MIN_ELEMENTS || !simdSigmoidMatchesMathExp()) return false;
  const placed = place([x], [out]);
  if (!placed) return false;
  const [X, O] = placed.at;
  runOp(placed.mem, OP.sigmoid, n, 1, [X, O, silu ? 1 : 0]);
  placed.finish();
  simdCalls.sigmoid++;
  return true;
}

/** out = dy · sigmoid'(x) (or SiLU's derivative), as unaryGrad.ts computes it. False (out untouched) without the kernel. */
export function simdSigmoidGrad(x: Float32Array, dy: Float32Array, out: Float32Array, silu: boolean): boolean {
  const n = x.length;
  if (n < SIMD_MIN_ELEMENTS || dy.length !== n || !simdSigmoidMatchesMathExp()) return false;
  const placed = place([x, dy], [out]);
  if (!placed) return false;
  const [X, D, O] = placed.at;
  runOp(placed.mem, OP.sigmoidGrad, n, 1, [X, D, O, silu ? 1 : 0]);
  placed.finish();
  simdCalls.sigmoidGrad++;
  return true;
}

/** SwiGLU: out = fround(fround(silu(g)) · up) in one pass, as kernels/siluMul.ts's loop. False without the kernel. */
export function simdSiluMul(g: Float32Array, up: Float32Array, out: Float32Array): boolean {
  const n = g.length;
  if (n < SIMD_MIN_ELEMENTS || up.length !== n || !simdSigmoidMatchesMathExp()) return false;
  const placed = place([g, up], [out]);
  if (!placed) return false;
  const [G, U, O] = placed.at;
  runOp(placed.mem, OP.siluMul, n, 1, [G, U, O]);
  placed.finish();
  simdCalls.siluMul++;
  return true;
}

/**
 * Both SwiGLU gradients with one sigmoid per element, as kernels/siluMulGradPair.ts's loop: dgate =
 * fround(fround(dy·up)·silu′(g)), dup = fround(dy·fround(silu(g))). False (outputs untouched) without the kernel.
 */
export function simdSiluMulGrad(
  g: Float32Array,
  up: Float32Array,
  dy: Float32Array,
  dgate: Float32Array,
  dup: Float32Array,
): boolean {
  const n = g.length;
  if (n < SIMD_MIN_ELEMENTS || up.length !== n || dy.length !== n || !simdSigmoidMatchesMathExp()) return false;
  const placed = place([g, up, dy], [dgate, dup]);
  if (!placed) return false;
  const [G, U, D, DG, DU] = placed.at;
  runOp(placed.mem, OP.siluMulGrad, n, 1, [G, U, D, DG, DU]);
  placed.finish();
  simdCalls.siluMulGrad++;
  return true;
}

/** Longest softmax row the kernels take (its float64 exponentials use 8 bytes a key of a thread's scratch). */
const SOFTMAX_MAX_KEYS = 8192;

/** Whether the rows' causal limits keep at least one key visible in every row (else JavaScript handles them). */
function softmaxRowsFit(c: number, tq: number, causal: boolean): boolean {
  return c >= 1 && c <= SOFTMAX_MAX_KEYS && tq >= 1 && (!causal || c >= tq);
}

/**
 * maskedSoftmax without a mask over rows of c keys (row r is query r mod tq), as kernels/maskedSoftmax.ts's loop
 * computes it. False (out may hold partial results) without the kernel, for rows it does not take, or when a row's
 * maximum is NaN; the caller then computes every row in JavaScript.
 */
export function simdMaskedSoftmax(
  x: Float32Array,
  out: Float32Array,
  c: number,
  tq: number,
  causal: boolean,
  scale: number,
): boolean {
  const n = x.length;
  if (n < SIMD_MIN_ELEMENTS || !softmaxRowsFit(c, tq, causal) || !simdSigmoidMatchesMathExp()) return false;
  const placed = place([x], [out], 64); // + 64: the exponentials read two scores at a time
  if (!placed) return false;
  const [X, O] = placed.at;
  const { mem } = placed;
  const flag = (ELEMENTWISE_JOB >> 2) + 31;
  mem.i32[flag] = 0;
  runOp(mem, OP.softmax, n / c, c, [X, O, c, tq, causal ? 1 : 0], [scale]);
  if (mem.i32[flag] !== 0) return false;
  placed.finish();
  simdCalls.softmax++;
  return true;
}

/** maskedSoftmax's gradient without a mask, as kernels/maskedSoftmaxGrad.ts's loop. False (out untouched) without the kernel. */
export function simdMaskedSoftmaxGrad(
  y: Float32Array,
  dy: Float32Array,
  out: Float32Array,
  c: number,
  tq: number,
  causal: boolean,
  scale: number,
): boolean {
  const n = y.length;
  if (n < SIMD_MIN_ELEMENTS || dy.length !== n || !softmaxRowsFit(c, tq, causal)) return false;
  const placed = place([y, dy], [out]);
  if (!placed) return false;
  const [Y, D, O] = placed.at;
  runOp(placed.mem, OP.softmaxGrad, n / c, c, [Y, D, O, c, tq, causal ? 1 : 0], [scale]);
  placed.finish();
  simdCalls.softmaxGrad++;
  return true;
}

/** Columns of one task item of the middle-axis sum (elementwise.wat's op 15). */
const SUM_COLUMNS = 64;

/**
 * Sums over the middle axis of x [outer, n, inner] into out [outer, inner], as kernels/reduce.ts's loop: each
 * column in float64, in order, rounded once. False (out untouched) without the kernel.
 */
export function simdSumMiddle(x: Float32Array, out: Float32Array, outer: number, n: number, inner: number): boolean {
  if (x.length < SIMD_MIN_ELEMENTS || inner < 8 || x.length !== outer * n * inner) return false;
  const placed = place([x], [out]);
  if (!placed) return false;
  const [X, O] = placed.at;
  const blocks = Math.ceil(inner / SUM_COLUMNS);
  runOp(placed.mem, OP.sumMiddle, outer * blocks, (n * inner) / blocks, [X, O, n, inner, blocks]);
  placed.finish();
  simdCalls.sumMiddle++;
  return true;
}

/** x [B, A, C, D] → out [B, C, A, D] (f32), rows of D moved whole. False (out untouched) without the kernel. */
export function simdSwapMiddle(x: Float32Array, out: Float32Array, a: number, c: number, d: number): boolean {
  if (x.length < SIMD_MIN_ELEMENTS || d < 4 || x.length % (a * c * d) !== 0 || out.length !== x.length) return false;
  const placed = place([x], [out]);
  if (!placed) return false;
  const [X, O] = placed.at;
  runOp(placed.mem, OP.swapMiddle, x.length / d, d, [X, O, a, c, d]);
  placed.finish();
  simdCalls.swapMiddle++;
  return true;
}

/**
 * DoRA's combine over rows of c columns (kernels/doraCombine.ts's loop, bit for bit): out = res +
 * (fround(fround(sc − 1)·base) + fround(fround(sc·lora)·s32)), sc = scale[j]. False (out untouched) without the kernel.
 */
export function simdDoraCombine(
  res: Float32Array,
  base: Float32Array,
  lora: Float32Array,
  scale: Float32Array,
  out: Float32Array,
  s32: number,
): boolean {
  const c = scale.length;
  if (out.length < SIMD_MIN_ELEMENTS || c === 0) return false;
  const placed = place([res, base, lora, scale], [out]);
  if (!placed) return false;
  const [R, B, L, S, O] = placed.at;
  runOp(placed.mem, OP.doraCombine, out.length / c, c, [R, B, L, S, O, c], [s32]);
  placed.finish();
  simdCalls.doraCombine++;
  return true;
}

/** Least columns of one task item of the DoRA gradient (its rows are read in order, so items split the columns). */
const DORA_MIN_COLUMNS = 64;
/** Most columns of one item: its two float64 accumulators take 16 bytes a column of a thread's scratch. */
const DORA_MAX_COLUMNS = Math.floor(SCRATCH_BYTES / 16 / 4) * 4;

/**
 * DoRA's gradients over x [outer, n, c] (kernels/doraCombineGrad.ts's loop, bit for bit), d3 = fround(dy·s32):
 * dbase = fround(dy·fround(sc − 1)) and dlora = fround(d3·sc) where given, and with p1 / p3 [outer, c] the sums over
 * the middle axis p1 = fround(Σ fround(dy·base)), p3 = fround(Σ fround(d3·lora)) (float64, in order). False (outputs
 * untouched) without the kernel.
 */
export function simdDoraCombineGrad(
  dy: Float32Array,
  base: Float32Array,
  lora: Float32Array,
  scale: Float32Array,
  dbase: Float32Array | null,
  dlora: Float32Array | null,
  p1: Float32Array | null,
  p3: Float32Array | null,
  outer: number,
  n: number,
  s32: number,
): boolean {
  const c = scale.length;
  if (dy.length < SIMD_MIN_ELEMENTS || c === 0 || dy.length !== outer * n * c) return false;
  const outs = [dbase, dlora, p1, p3].filter((v): v is Float32Array => v !== null);
  const placed = place([dy, base, lora, scale], outs);
  if (!placed) return false;
  const [D, B, L, S] = placed.at;
  let next = 4;
  const ptr = (v: Float32Array | null) => (v ? placed.at[next++] : 0);
  const [DB, DL, P1, P3] = [ptr(dbase), ptr(dlora), ptr(p1), ptr(p3)];
  const flags = (dbase ? 1 : 0) | (dlora ? 2 : 0) | (p1 && p3 ? 4 : 0);
  // items: (outer row, block of columns); enough of them for the helper threads where outer is small
  let blocks = Math.ceil(c / DORA_MAX_COLUMNS);
  while (outer * blocks < 8 && c / (2 * blocks) >= DORA_MIN_COLUMNS) blocks *= 2;
  const width = Math.ceil(c / blocks / 4) * 4;
  blocks = Math.ceil(c / width);
  const ints = [D, B, L, S, DB, DL, P1, P3, n, c, blocks, width, flags];
  runOp(placed.mem, OP.doraCombineGrad, outer * blocks, n * width, ints, [s32]);
  placed.finish();
  simdCalls.doraCombineGrad++;
  return true;
}

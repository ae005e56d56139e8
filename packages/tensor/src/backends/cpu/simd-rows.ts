/**
 * Row kernels of elementwise.wat for the CPU backend: RMS and layer norms with their gradients, rotary embedding,
 * and cross-entropy with its gradient. Like simd.ts's kernels they use operands on the wasm heap in place (others are
 * copied into its scratch region and back), run one job of rows there (split into tasks that the helper threads
 * share when it is large), and their
 * results are bit-identical to the JavaScript loops in kernels/ (see the kernels' comments in elementwise.wat). Each
 * returns false, leaving its output untouched, where it does not apply; the caller then runs its JavaScript loop.
 */
import { place, runOp, SIMD_MIN_ELEMENTS, simdSigmoidMatchesMathExp } from './simd.js';
import { ELEMENTWISE_JOB } from './wasm-memory.js';

/** Job codes of elementwise.wat's run_task (after simd.ts's 0…8). */
const OP = { rmsNorm: 9, rmsNormGrad: 10, rotary: 11, crossEntropy: 12, layerNorm: 13, layerNormGrad: 14 } as const;

/** Kernel calls the SIMD path has run, per kernel (for tests: proof the path was taken). */
export const simdRowCalls = {
  rmsNorm: 0,
  rmsNormGrad: 0,
  rotary: 0,
  rotaryInverse: 0,
  crossEntropy: 0,
  crossEntropyGrad: 0,
  layerNorm: 0,
  layerNormGrad: 0,
};

/** The word of the job block where a kernel reports rows it leaves to JavaScript. */
const FLAG = (ELEMENTWISE_JOB >> 2) + 31;

/** Whether x holds whole rows of d (d ≥ 1) and is large enough for the kernels. */
const rowsFit = (n: number, d: number): boolean => n >= SIMD_MIN_ELEMENTS && d >= 1 && n % d === 0;

/** rmsNorm over rows of d: out = x·rs, or fround(x·rs)·w, as kernels/rmsNorm.ts's loop. */
export function simdRmsNorm(
  x: Float32Array,
  w: Float32Array | null,
  out: Float32Array,
  d: number,
  eps32: number,
): boolean {
  const n = x.length;
  if (!rowsFit(n, d) || (w && w.length !== d)) return false;
  const placed = place(w ? [x, w] : [x], [out]);
  if (!placed) return false;
  const [X, W, O] = w ? placed.at : [placed.at[0], 0, placed.at[1]];
  runOp(placed.mem, OP.rmsNorm, n / d, d, [X, W, w ? 1 : 0, O, d], [eps32]);
  placed.finish();
  simdRowCalls.rmsNorm++;
  return true;
}

let cubesMatch: boolean | undefined;

/**
 * Whether fround(r ** 3) is fround((r·r)·r) here for the f32 values r where that could depend on the engine's pow.
 * (r·r)·r is the correctly rounded float64 cube (r·r is exact). For every f32 mantissa but the ones checked here,
 * the exact cube is at least 8 float64 ulps from an f32 rounding midpoint (checked exhaustively over the 2^23
 * mantissas), so any pow within 8 ulps rounds to the same f32; the exceptions are m = (257 + 2k)·2^15, whose cubes
 * fit in 25 bits and are exactly midpoints. They are checked once at every exponent whose cube is a normal f32.
 */
export function rmsCubesMatchPow(): boolean {
  if (cubesMatch !== undefined) return cubesMatch;
  const f = Math.fround;
  cubesMatch = true;
  for (let k = 257; k <= 321 && cubesMatch; k += 2) {
    for (let e = -50; e <= 80; e++) {
      const r = f(k * 2 ** (e - 8));
      if (f(r ** 3) !== f(r * r * r)) cubesMatch = false;
    }
  }
  return cubesMatch;
}

/**
 * rmsNorm's dx over rows of d, as kernels/rmsNormGrad.ts's loop. False (out untouched) without the kernel, or when
 * some row's rs³ is below the f32 normals (rows of enormous magnitude: the JavaScript loop then does the job).
 */
export function simdRmsNormGrad(
  x: Float32Array,
  dy: Float32Array,
  w: Float32Array | null,
  out: Float32Array,
  d: number,
  eps32: number,
): boolean {
  const n = x.length;
  if (!rowsFit(n, d) || dy.length !== n || (w && w.length !== d) || !rmsCubesMatchPow()) return false;
  const placed = place(w ? [x, dy, w] : [x, dy], [out]);
  if (!placed) return false;
  const { mem } = placed;
  const [X, D, W, O] = w ? placed.at : [placed.at[0], placed.at[1], 0, placed.at[2]];
  mem.i32[FLAG] = 0;
  runOp(mem, OP.rmsNormGrad, n / d, d, [X, D, W, w ? 1 : 0, O, d], [eps32]);
  if (mem.i32[FLAG] !== 0) return false;
  placed.finish();
  simdRowCalls.rmsNormGrad++;
  return true;
}

/**
 * Rotate-half rotary embedding over rows of d (even), as kernels/rotary.ts's loop. heads = 0: the tables (cos and
 * sin, `period` values each, a multiple of d) repeat along x. heads > 0: x is [B, a, b, d] and out [B, b, a, d], the
 * tables [T, d] with T = a (forward) or b (inverse).
 */
export function simdRotary(
  x: Float32Array,
  cos: Float32Array,
  sin: Float32Array,
  out: Float32Array,
  d: number,
  inverse: boolean,
  heads: number,
  a: number,
  b: number,
): boolean {
  const n = x.length;
  const period = cos.length;
  if (!rowsFit(n, d) || d % 2 !== 0 || out.length !== n || sin.length !== period) return false;
  if (heads > 0 ? period < (inverse ? b : a) * d || n % (a * b * d) !== 0 : period === 0 || period % d !== 0)
    return false;
  const placed = place([x, cos, sin], [out]); // never in place: a row's second half reads the first half's inputs
  if (!placed) return false;
  const [X, C, S, O] = placed.at;
  runOp(placed.mem, OP.rotary, n / d, d, [X, C, S, O, d, period, inverse ? 1 : 0, heads > 0 ? 1 : 0, a, b]);
  placed.finish();
  if (inverse) simdRowCalls.rotaryInverse++;
  else simdRowCalls.rotary++;
  return true;
}

/** Longest row whose float64 exponentials a thread's scratch keeps (8·(c + 1) bytes); longer rows compute them twice. */
const CE_KEEP_MAX = 16384;

/** Whether the cross-entropy kernels take rows of c classes with these labels (every one kept is in [0, c)). */
function crossEntropyFits(labels: Int32Array, n: number, c: number, ignoreIndex: number): boolean {
  if (n * c < SIMD_MIN_ELEMENTS || c < 1 || labels.length !== n || ignoreIndex !== (ignoreIndex | 0)) return false;
  for (let r = 0; r < n; r++) {
    const y = labels[r];
    if (y !== ignoreIndex && (y < 0 || y >= c)) return false;
  }
  return simdSigmoidMatchesMathExp();
}

/**
 * Per-row cross-entropy mx + log(Σ exp(l − mx)) − l[y] into out (ignored rows untouched), as kernels/crossEntropy.ts's
 * loop: the kernel gives each row's sum and maximum, the logarithm is taken here. False without the kernel or
 * when some kept label is out of range (the caller's loop reports it).
 */
export function simdCrossEntropy(
  logits: Float32Array,
  labels: Int32Array,
  out: Float32Array,
  n: number,
  c: number,
  ignoreIndex: number,
): boolean {
  if (logits.length !== n * c || !crossEntropyFits(labels, n, c, ignoreIndex)) return false;
  // each row's (sum, max) as float64 pairs; + 8: the last odd logit is read with the next one
  const pairs = new Float32Array(4 * n);
  const placed = place([logits, labels], [pairs], 8);
  if (!placed) return false;
  const [L, Y, O] = placed.at;
  runOp(placed.mem, OP.crossEntropy, n, c, [L, Y, 0, O, c, ignoreIndex, 0, c <= CE_KEEP_MAX ? 1 : 0]);
  placed.finish();
  const res = new Float64Array(pairs.buffer, 0, 2 * n);
  for (let r = 0; r < n; r++) {
    const y = labels[r];
    if (y === ignoreIndex) continue;
    out[r] = res[2 * r + 1] + Math.log(res[2 * r]) - logits[r * c + y];
  }
  simdRowCalls.crossEntropy++;
  return true;
}

/** Cross-entropy's gradient rows, as kernels/crossEntropyGrad.ts's loop (one exponential per logit). */
export function simdCrossEntropyGrad(
  logits: Float32Array,
  labels: Int32Array,
  dloss: Float32Array,
  out: Float32Array,
  n: number,
  c: number,
  ignoreIndex: number,
): boolean {
  if (logits.length !== n * c || dloss.length !== n || !crossEntropyFits(labels, n, c, ignoreIndex)) return false;
  const placed = place([logits, labels, dloss], [out], 8);
  if (!placed) return false;
  const [L, Y, G, O] = placed.at;
  runOp(placed.mem, OP.crossEntropy, n, c, [L, Y, G, O, c, ignoreIndex, 1, c <= CE_KEEP_MAX ? 1 : 0]);
  placed.finish();
  simdRowCalls.crossEntropyGrad++;
  return true;
}

/** layerNorm over rows of d as kernels/layerNorm.ts's loop: fround(c·rs), then · w and + b where given. */
export function simdLayerNorm(
  x: Float32Array,
  w: Float32Array | null,
  b: Float32Array | null,
  out: Float32Array,
  d: number,
  eps32: number,
): boolean {
  const n = x.length;
  if (!rowsFit(n, d) || (w && w.length !== d) || (b && b.length !== d)) return false;
  const none = new Float32Array(0); // stands for a missing weight or bias (the kernel does not read it)
  const placed = place([x, w ?? none, b ?? none], [out]);
  if (!placed) return false;
  const [X, W, B, O] = placed.at;
  runOp(placed.mem, OP.layerNorm, n / d, d, [X, W, B, (w ? 1 : 0) | (b ? 2 : 0), O, d], [eps32]);
  placed.finish();
  simdRowCalls.layerNorm++;
  return true;
}

/** layerNorm's dx over rows of d, as kernels/layerNormGrad.ts's loop (rows of enormous magnitude: false, as rmsNormGrad). */
export function simdLayerNormGrad(
  x: Float32Array,
  dy: Float32Array,
  w: Float32Array | null,
  out: Float32Array,
  d: number,
  eps32: number,
): boolean {
  const n = x.length;
  if (!rowsFit(n, d) || dy.length !== n || (w && w.length !== d) || !rmsCubesMatchPow()) return false;
  const placed = place(w ? [x, dy, w] : [x, dy], [out]);
  if (!placed) return false;
  const { mem } = placed;
  const [X, D, W, O] = w ? placed.at : [placed.at[0], placed.at[1], 0, placed.at[2]];
  mem.i32[FLAG] = 0;
  runOp(mem, OP.layerNormGrad, n / d, d, [X, D, W, w ? 1 : 0, O, d], [eps32]);
  if (mem.i32[FLAG] !== 0) return false;
  placed.finish();
  simdRowCalls.layerNormGrad++;
  return true;
}

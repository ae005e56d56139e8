/**
 * erf to double precision (≈1e-15): the Maclaurin series near zero, the Lentz continued fraction for erfc in the
 * tails. JavaScript has no Math.erf, and GELU's exact form and its float64 test references need one.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return x;
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = ax;
    let total = ax;
    const x2 = ax * ax;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      total += add;
      if (Math.abs(add) < 1e-17 * Math.abs(total)) break;
    }
    const r = (2 / Math.sqrt(Math.PI)) * total;
    return x < 0 ? -r : r;
  }
  const r = 1 - erfcLarge(ax);
  return x < 0 ? -r : r;
}

/** erfc(x) for x ≥ 2.5: continued fraction erfc(x) = exp(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …)))). */
function erfcLarge(x: number): number {
  if (x > 27) return 0;
  const tiny = 1e-300;
  // modified Lentz for f = x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    d = d === 0 ? tiny : 1 / d;
    c = x + a / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export const gelu = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));
export const geluGrad = (x: number): number =>
  0.5 * (1 + erf(x / Math.SQRT2)) + x * Math.exp(-0.5 * x * x) * INV_SQRT_2PI;
export const geluTanh = (x: number): number => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
export const geluTanhGrad = (x: number): number => {
  const t = Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
};
// exp(x) for x ≤ 0 as one fixed sequence of float64 operations (no library call), so that the WebAssembly kernels
// (elementwise.wat's $expneg2) give the same bits: k = floor(x·log2(e) + 1/2), r = (x − k·ln2hi) − k·ln2lo
// (|r| ≤ 0.35), exp(r) by its Taylor series to r¹³ evaluated in Estrin's scheme (pairs c₂ᵢ + c₂ᵢ₊₁·r combined
// with r², r⁴, r⁸: a short dependency chain; relative error within a few 1e-16, far finer than the f32 results it
// feeds), times 2^k. Below −708 (past f64's normal range) it is 0: every caller rounds to f32, where that is 0 too.
const LN2_HI = 0.6931471803691238;
const LN2_LO = 1.9082149292705877e-10;
/** 1/n! for n = 2 … 13, exact float64 literals shared with elementwise.wat. */
const C = [
  0.5, 0.16666666666666666, 4.1666666666666664e-2, 8.333333333333333e-3, 1.388888888888889e-3, 1.984126984126984e-4,
  2.48015873015873e-5, 2.7557319223985893e-6, 2.755731922398589e-7, 2.505210838544172e-8, 2.08767569878681e-9,
  1.6059043836821613e-10,
];
/** 2^k for k = −1022 … 0, exact. */
const POW2 = (() => {
  const t = new Float64Array(1023);
  let v = 1;
  for (let k = 0; k <= 1022; k++) {
    t[1022 - k] = v;
    v /= 2;
  }
  return t;
})();

/** exp(x) for x ≤ 0 (see above); NaN for NaN. */
export function expNeg(x: number): number {
  if (!(x >= -708)) return Number.isNaN(x) ? x : 0;
  const k = Math.floor(x * Math.LOG2E + 0.5);
  const r = x - k * LN2_HI - k * LN2_LO;
  const r2 = r * r;
  const r4 = r2 * r2;
  const r8 = r4 * r4;
  const s0 = 1 + r + (C[0] + C[1] * r) * r2;
  const s1 = C[2] + C[3] * r + (C[4] + C[5] * r) * r2;
  const s2 = C[6] + C[7] * r + (C[8] + C[9] * r) * r2;
  const s3 = C[10] + C[11] * r;
  const p = s0 + s1 * r4 + (s2 + s3 * r4) * r8;
  return p * POW2[k + 1022];
}

/** The logistic function, from exp of a non-positive argument on either side (no overflow). */
export const sigmoid = (x: number): number => {
  if (x >= 0) return 1 / (1 + expNeg(-x));
  const e = expNeg(x);
  return e / (1 + e);
};

/**
 * max |ours − ref| / max(max |ref|, floor): the error relative to the reference's largest magnitude, the measure
 * the golden vectors' tolerances are stated in. Infinity when the lengths differ or either side holds NaN.
 */
export function relMaxError(ours: ArrayLike<number>, ref: ArrayLike<number>, floor = 1e-6): number {
  if (ours.length !== ref.length) return Number.POSITIVE_INFINITY;
  let err = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ours[i] - ref[i]);
    if (Number.isNaN(d)) return Number.POSITIVE_INFINITY;
    if (d > err) err = d;
    const m = Math.abs(ref[i]);
    if (m > scale) scale = m;
  }
  return err / Math.max(scale, floor);
}

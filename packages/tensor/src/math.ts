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
export const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

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

import { cpuKernel } from '../kernel.js';
import { simdRotary } from '../simd-rows.js';

const f = Math.fround;

/**
 * Rotate-half rotary embedding over rows of D (h = D/2). Forward: out = x·cos + rot·sin with rot = (−x₂, x₁);
 * inverse (the gradient): out = x·cos + (x₂·sin₂, −x₁·sin₁). Without heads the tables repeat every `cos.size`
 * elements; with heads the rows also move between the [B, T, H] and [B, H, T] orders (tables [T, D]).
 */
export const rotary = cpuKernel('rotary', (be, [x, cos, sin], { inverse, heads }) => {
  const xv = be.values(x);
  const cv = be.values(cos);
  const sv = be.values(sin);
  const xs = x.shape;
  const rank = xs.length;
  const d = xs[rank - 1] ?? 1;
  const h = d / 2;
  // with heads: x is [B, T, H, D] (forward) or [B, H, T, D] (inverse); out the other order
  const outShape = heads > 0 ? [xs[0], xs[2], xs[1], d] : xs;
  const { out, values } = be.output(outShape, 'f32', false);
  const rows = d === 0 ? 0 : xv.length / d;
  const period = cv.length;
  const a = heads > 0 ? xs[1] : 1; // the middle axes of x: [B, a, b, D]
  const b = heads > 0 ? xs[2] : 1;
  if (
    xv instanceof Float32Array &&
    cv instanceof Float32Array &&
    sv instanceof Float32Array &&
    simdRotary(xv, cv, sv, values as Float32Array, d, inverse, heads, a, b)
  )
    return out;
  for (let r = 0; r < rows; r++) {
    const src = r * d;
    let dst = src;
    let t = src % period;
    if (heads > 0) {
      // row r of x is (n, i, j) over [B, a, b]; it goes to (n, j, i) of out; the position is i (forward) or j
      const j = r % b;
      const i = ((r - j) / b) % a;
      const n = Math.floor(r / (a * b));
      dst = ((n * b + j) * a + i) * d;
      t = (inverse ? j : i) * d;
    }
    if (inverse) {
      for (let k = 0; k < h; k++) values[dst + k] = f(xv[src + k] * cv[t + k]) + f(xv[src + k + h] * sv[t + k + h]);
      for (let k = h; k < d; k++) values[dst + k] = f(xv[src + k] * cv[t + k]) - f(xv[src + k - h] * sv[t + k - h]);
    } else {
      for (let k = 0; k < h; k++) values[dst + k] = f(xv[src + k] * cv[t + k]) - f(xv[src + k + h] * sv[t + k]);
      for (let k = h; k < d; k++) values[dst + k] = f(xv[src + k] * cv[t + k]) + f(xv[src + k - h] * sv[t + k]);
    }
  }
  return out;
});

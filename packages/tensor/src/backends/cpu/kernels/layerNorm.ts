import type { TypedArray } from '../../../dtype.js';
import { cpuKernel } from '../kernel.js';
import { simdLayerNorm } from '../simd-rows.js';

const f = Math.fround;

/**
 * A row's mean, centred values (into `c`) and reciprocal standard deviation, rounded as the composed ops round:
 * sums in float64 stored as f32, then ÷ D, x − μ, square, + eps and rsqrt, each stored as f32.
 */
export function layerNormRow(xv: TypedArray, o: number, d: number, eps32: number, c: Float32Array): number {
  let s = 0;
  for (let i = 0; i < d; i++) s += xv[o + i];
  const mu = f(f(s) / d);
  let s2 = 0;
  for (let i = 0; i < d; i++) {
    const ci = f(xv[o + i] - mu);
    c[i] = ci;
    s2 += f(ci * ci);
  }
  return f(1 / Math.sqrt(f(f(f(s2) / d) + eps32)));
}

export const layerNorm = cpuKernel('layerNorm', (be, inputs, { eps, weight, bias }) => {
  const [x] = inputs;
  const xv = be.values(x);
  const wv = weight ? be.values(inputs[1]) : null;
  const bv = bias ? be.values(inputs[weight ? 2 : 1]) : null;
  const { out, values } = be.output(x.shape, 'f32', false);
  const d = x.shape[x.shape.length - 1] ?? 1;
  const rows = d === 0 ? 0 : xv.length / d;
  const eps32 = f(eps);
  if (
    xv instanceof Float32Array &&
    (!wv || wv instanceof Float32Array) &&
    (!bv || bv instanceof Float32Array) &&
    simdLayerNorm(xv, wv as Float32Array | null, bv as Float32Array | null, values as Float32Array, d, eps32)
  )
    return out;
  const c = new Float32Array(d);
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    const rs = layerNormRow(xv, o, d, eps32, c);
    for (let i = 0; i < d; i++) {
      let y = f(c[i] * rs);
      if (wv) y = f(y * wv[i]);
      if (bv) y = f(y + bv[i]);
      values[o + i] = y;
    }
  }
  return out;
});

import type { TypedArray } from '../../../dtype.js';
import { cpuKernel } from '../kernel.js';
import { simdRmsNorm } from '../simd-rows.js';

const f = Math.fround;

/**
 * The row's reciprocal RMS as the composed ops round it: square (f32), sum (float64, stored as f32), ÷ D, + eps,
 * rsqrt, each stored as f32.
 */
export function rmsRstd(xv: TypedArray, o: number, d: number, eps32: number): number {
  let s = 0;
  for (let i = 0; i < d; i++) {
    const v = xv[o + i];
    s += f(v * v);
  }
  return f(1 / Math.sqrt(f(f(f(s) / d) + eps32)));
}

export const rmsNorm = cpuKernel('rmsNorm', (be, [x, w], { eps }) => {
  const xv = be.values(x);
  const wv = w ? be.values(w) : null;
  const { out, values } = be.output(x.shape, 'f32', false);
  const d = x.shape[x.shape.length - 1] ?? 1;
  const rows = d === 0 ? 0 : xv.length / d;
  const eps32 = f(eps);
  if (
    xv instanceof Float32Array &&
    (!wv || wv instanceof Float32Array) &&
    simdRmsNorm(xv, wv as Float32Array | null, values as Float32Array, d, eps32)
  )
    return out;
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    const rs = rmsRstd(xv, o, d, eps32);
    if (wv) for (let i = 0; i < d; i++) values[o + i] = f(xv[o + i] * rs) * wv[i];
    else for (let i = 0; i < d; i++) values[o + i] = xv[o + i] * rs;
  }
  return out;
});

import { cpuKernel } from '../kernel.js';
import { simdRmsNormGrad } from '../simd-rows.js';
import { rmsRstd } from './rmsNorm.js';

const f = Math.fround;

/**
 * dx of rmsNorm, rounded step by step as the composed gradient rounds (mul's, rsqrt's, mean's and square's
 * gradients): with a = dy·w, dx = a·r + (Σ a·x · r³ · −½ / D) · 2x.
 */
export const rmsNormGrad = cpuKernel('rmsNormGrad', (be, [x, dy, w], { eps }) => {
  const xv = be.values(x);
  const gv = be.values(dy);
  const wv = w ? be.values(w) : null;
  const { out, values } = be.output(x.shape, 'f32', false);
  const d = x.shape[x.shape.length - 1] ?? 1;
  const rows = d === 0 ? 0 : xv.length / d;
  const eps32 = f(eps);
  if (
    xv instanceof Float32Array &&
    gv instanceof Float32Array &&
    (!wv || wv instanceof Float32Array) &&
    simdRmsNormGrad(xv, gv, wv as Float32Array | null, values as Float32Array, d, eps32)
  )
    return out;
  const a = new Float32Array(d);
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    const rs = rmsRstd(xv, o, d, eps32);
    let dr = 0;
    for (let i = 0; i < d; i++) {
      a[i] = wv ? gv[o + i] * wv[i] : gv[o + i];
      dr += f(a[i] * xv[o + i]);
    }
    const dv = f(f(dr) * f(f(rs ** 3) * -0.5));
    const ds = f(dv / d);
    for (let i = 0; i < d; i++) values[o + i] = f(a[i] * rs) + f(ds * f(xv[o + i] * 2));
  }
  return out;
});

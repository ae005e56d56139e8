import { cpuKernel } from '../kernel.js';
import { simdLayerNormGrad } from '../simd-rows.js';
import { layerNormRow } from './layerNorm.js';

const f = Math.fround;

/**
 * dx of layerNorm, rounded step by step as the composed gradient rounds: with g = dy·w, the centred values' gradient
 * dc = g·r + (Σ g·c · r³ · −½ / D) · 2c, then dx = dc − (Σ dc) / D.
 */
export const layerNormGrad = cpuKernel('layerNormGrad', (be, [x, dy, w], { eps, weight }) => {
  const xv = be.values(x);
  const gv = be.values(dy);
  const wv = weight ? be.values(w) : null;
  const { out, values } = be.output(x.shape, 'f32', false);
  const d = x.shape[x.shape.length - 1] ?? 1;
  const rows = d === 0 ? 0 : xv.length / d;
  const eps32 = f(eps);
  if (
    xv instanceof Float32Array &&
    gv instanceof Float32Array &&
    (!wv || wv instanceof Float32Array) &&
    simdLayerNormGrad(xv, gv, wv as Float32Array | null, values as Float32Array, d, eps32)
  )
    return out;
  const c = new Float32Array(d);
  const g = new Float32Array(d);
  const dc = new Float32Array(d);
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    const rs = layerNormRow(xv, o, d, eps32, c);
    let dr = 0;
    for (let i = 0; i < d; i++) {
      g[i] = wv ? gv[o + i] * wv[i] : gv[o + i];
      dr += f(g[i] * c[i]);
    }
    const ds2 = f(f(f(dr) * f(f(rs ** 3) * -0.5)) / d);
    let sdc = 0;
    for (let i = 0; i < d; i++) {
      dc[i] = f(g[i] * rs) + f(ds2 * f(c[i] * 2));
      sdc -= dc[i];
    }
    const ds1 = f(f(sdc) / d);
    for (let i = 0; i < d; i++) values[o + i] = dc[i] + ds1;
  }
  return out;
});

import { cpuKernel } from '../kernel.js';
import { simdCrossEntropyGrad } from '../simd-rows.js';

export const crossEntropyGrad = cpuKernel('crossEntropyGrad', (be, [logits, labels, dloss], { ignoreIndex }) => {
  const lv = be.values(logits);
  const yv = be.values<Int32Array>(labels);
  const dv = be.values(dloss);
  const [n, c] = logits.shape;
  const { out, values } = be.output([n, c], 'f32');
  if (
    lv instanceof Float32Array &&
    yv instanceof Int32Array &&
    dv instanceof Float32Array &&
    simdCrossEntropyGrad(lv, yv, dv, values as Float32Array, n, c, ignoreIndex)
  )
    return out;
  for (let r = 0; r < n; r++) {
    const y = yv[r];
    if (y === ignoreIndex) continue;
    const o = r * c;
    let mx = -Infinity;
    for (let i = 0; i < c; i++) mx = Math.max(mx, lv[o + i]);
    let s = 0;
    for (let i = 0; i < c; i++) s += Math.exp(lv[o + i] - mx);
    const g = dv[r];
    for (let i = 0; i < c; i++) values[o + i] = (g * Math.exp(lv[o + i] - mx)) / s;
    values[o + y] -= g;
  }
  return out;
});

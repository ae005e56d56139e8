import { KernelError } from '../../../errors.js';
import { cpuKernel } from '../kernel.js';
import { simdCrossEntropy } from '../simd-rows.js';

export const crossEntropy = cpuKernel('crossEntropy', (be, [logits, labels], { ignoreIndex }) => {
  const lv = be.values(logits);
  const yv = be.values<Int32Array>(labels);
  const [n, c] = logits.shape;
  const { out, values } = be.output([n], 'f32');
  if (
    lv instanceof Float32Array &&
    yv instanceof Int32Array &&
    simdCrossEntropy(lv, yv, values as Float32Array, n, c, ignoreIndex)
  )
    return out;
  for (let r = 0; r < n; r++) {
    const y = yv[r];
    if (y === ignoreIndex) continue;
    if (y < 0 || y >= c) throw new KernelError('crossEntropy', `label ${y} out of range [0, ${c})`);
    const o = r * c;
    let mx = -Infinity;
    for (let i = 0; i < c; i++) mx = Math.max(mx, lv[o + i]);
    let s = 0;
    for (let i = 0; i < c; i++) s += Math.exp(lv[o + i] - mx);
    values[r] = mx + Math.log(s) - lv[o + y];
  }
  return out;
});

import { cpuKernel } from '../kernel.js';
import { sizeOf } from '../../../shape.js';

export const scatterAdd = cpuKernel('scatterAdd', (be, [dy, indices], { axis, shape }) => {
  const dv = be.values(dy);
  const iv = be.values<Int32Array>(indices);
  const outer = sizeOf(shape.slice(0, axis));
  const n = shape[axis];
  const inner = sizeOf(shape.slice(axis + 1));
  const { out, values } = be.output(shape, dy.dtype);
  const m = iv.length;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const dst = (o * n + iv[j]) * inner;
      const src = (o * m + j) * inner;
      for (let i = 0; i < inner; i++) values[dst + i] += dv[src + i];
    }
  }
  return out;
});

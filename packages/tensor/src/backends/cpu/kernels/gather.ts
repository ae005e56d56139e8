import { KernelError } from '../../../errors.js';
import { cpuKernel } from '../kernel.js';
import { sizeOf } from '../../../shape.js';

export const gather = cpuKernel('gather', (be, [x, indices], { axis }) => {
  const xv = be.values(x);
  const iv = be.values<Int32Array>(indices);
  const outer = sizeOf(x.shape.slice(0, axis));
  const n = x.shape[axis];
  const inner = sizeOf(x.shape.slice(axis + 1));
  const shape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
  const { out, values } = be.output(shape, x.dtype);
  const m = iv.length;
  for (let j = 0; j < m; j++) {
    const idx = iv[j];
    if (idx < 0 || idx >= n) throw new KernelError('gather', `index ${idx} out of range [0, ${n})`);
  }
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const src = (o * n + iv[j]) * inner;
      values.set(xv.subarray(src, src + inner), (o * m + j) * inner);
    }
  }
  return out;
});

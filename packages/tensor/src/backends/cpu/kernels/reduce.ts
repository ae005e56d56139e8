import { cpuKernel } from '../kernel.js';
import { sizeOf } from '../../../shape.js';
import { simdSumMiddle } from '../simd.js';

export const reduce = cpuKernel('reduce', (be, [x], { op, axis }) => {
  const xv = be.values(x);
  const outer = sizeOf(x.shape.slice(0, axis));
  const n = x.shape[axis];
  const inner = sizeOf(x.shape.slice(axis + 1));
  const shape = x.shape.map((d, i) => (i === axis ? 1 : d));
  const { out, values } = be.output(shape, x.dtype);
  const init = n === 0 && op !== 'sum' ? Number.NaN : op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity;
  // Accumulate in float64 for sums: the result is rounded once. One accumulator row, refilled per outer index (a
  // last-axis reduction has `outer` rows of inner = 1: an allocation each was most of its time).
  if (inner === 1) {
    // rows of n contiguous values, each accumulated in order: the same values as the general loop below
    for (let o = 0; o < outer; o++) {
      const base = o * n;
      let a = init;
      if (op === 'sum') for (let k = 0; k < n; k++) a += xv[base + k];
      else if (op === 'max')
        for (let k = 0; k < n; k++) {
          const v = xv[base + k];
          if (v > a || Number.isNaN(v)) a = v;
        }
      else
        for (let k = 0; k < n; k++) {
          const v = xv[base + k];
          if (v < a || Number.isNaN(v)) a = v;
        }
      values[o] = a;
    }
    return out;
  }
  // f32 sums over a middle or leading axis: the SIMD kernel (each column's float64 sum in order, the same bits)
  if (op === 'sum' && xv instanceof Float32Array && simdSumMiddle(xv, values as Float32Array, outer, n, inner))
    return out;
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    const base = o * n * inner;
    const dst = o * inner;
    acc.fill(init);
    for (let k = 0; k < n; k++) {
      const row = base + k * inner;
      if (op === 'sum') for (let i = 0; i < inner; i++) acc[i] += xv[row + i];
      else if (op === 'max')
        for (let i = 0; i < inner; i++) {
          const v = xv[row + i];
          if (v > acc[i] || Number.isNaN(v)) acc[i] = v;
        }
      else
        for (let i = 0; i < inner; i++) {
          const v = xv[row + i];
          if (v < acc[i] || Number.isNaN(v)) acc[i] = v;
        }
    }
    for (let i = 0; i < inner; i++) values[dst + i] = acc[i];
  }
  return out;
});

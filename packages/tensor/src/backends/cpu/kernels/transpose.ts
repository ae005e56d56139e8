import { cpuKernel } from '../kernel.js';
import { stridesOf } from '../../../shape.js';
import { simdSwapMiddle } from '../simd.js';

export const transpose = cpuKernel('transpose', (be, [x], { perm }) => {
  const xv = be.values(x);
  const shape = perm.map((p) => x.shape[p]);
  const { out, values } = be.output(shape, x.dtype, false);
  // Read x through permuted strides: walk the output in order.
  // swapping two middle axes of f32 rows (attention's head split and merge): the SIMD row copy, threaded
  const r = perm.length;
  if (r >= 3 && xv instanceof Float32Array && perm[r - 1] === r - 1 && perm[r - 2] === r - 3 && perm[r - 3] === r - 2) {
    let lead = true;
    for (let i = 0; i < r - 3; i++) lead &&= perm[i] === i;
    if (lead && simdSwapMiddle(xv, values as Float32Array, x.shape[r - 3], x.shape[r - 2], x.shape[r - 1])) return out;
  }
  const inStrides = stridesOf(x.shape);
  const permStrides = perm.map((p) => inStrides[p]);
  const rank = shape.length;
  if (rank === 0) {
    values[0] = xv[0];
    return out;
  }
  const n = shape[rank - 1];
  const sLast = permStrides[rank - 1];
  const idx = new Array<number>(rank).fill(0);
  let offset = 0;
  const rows = values.length / Math.max(n, 1);
  for (let r = 0; r < rows && n > 0; r++) {
    const o = r * n;
    // a permutation that keeps the last axis copies whole rows
    if (sLast === 1 && n >= 64) values.set(xv.subarray(offset, offset + n), o);
    else for (let i = 0; i < n; i++) values[o + i] = xv[offset + i * sLast];
    for (let ax = rank - 2; ax >= 0; ax--) {
      idx[ax]++;
      offset += permStrides[ax];
      if (idx[ax] < shape[ax]) break;
      offset -= permStrides[ax] * shape[ax];
      idx[ax] = 0;
    }
  }
  return out;
});

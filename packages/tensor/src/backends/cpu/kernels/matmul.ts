import type { TensorInfo } from '../../../kernels.js';
import { gemmBatched } from '../gemm.js';
import { cpuKernel } from '../kernel.js';

/** The sizes of a [batch, ·, ·] product: C [batch, m, n] = op(A) [m, k] · op(B) [k, n] per entry. */
export function productSizes(a: TensorInfo, b: TensorInfo, transA: boolean, transB: boolean) {
  const [ba, ar, ac] = a.shape;
  const [bb, br, bc] = b.shape;
  return { ba, bb, batch: Math.max(ba, bb), m: transA ? ac : ar, k: transA ? ar : ac, n: transB ? br : bc };
}

export const matmul = cpuKernel('matmul', (be, [a, b], { transA, transB }) => {
  const { ba, bb, batch, m, k, n } = productSizes(a, b, transA, transB);
  const { out, values } = be.output([batch, m, n], 'f32');
  gemmBatched(be.values(a), be.values(b), values, batch, m, n, k, transA, transB, ba === 1, bb === 1);
  return out;
});

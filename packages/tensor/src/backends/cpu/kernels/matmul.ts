import { cpuKernel } from '../kernel.js';
import { gemmBatched } from '../gemm.js';

export const matmul = cpuKernel('matmul', (be, [a, b], { transA, transB }) => {
  const av = be.values(a);
  const bv = be.values(b);
  const [ba, ar, ac] = a.shape;
  const [bb, br, bc] = b.shape;
  const m = transA ? ac : ar;
  const k = transA ? ar : ac;
  const n = transB ? br : bc;
  const batch = Math.max(ba, bb);
  const { out, values } = be.output([batch, m, n], 'f32');
  gemmBatched(av, bv, values, batch, m, n, k, transA, transB, ba === 1, bb === 1);
  return out;
});

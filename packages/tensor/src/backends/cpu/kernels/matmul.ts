import { cpuKernel } from '../kernel.js';
import { gemm } from '../gemm.js';

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
  for (let i = 0; i < batch; i++) {
    gemm(
      av.subarray((ba === 1 ? 0 : i) * m * k, (ba === 1 ? 1 : i + 1) * m * k),
      bv.subarray((bb === 1 ? 0 : i) * k * n, (bb === 1 ? 1 : i + 1) * k * n),
      values.subarray(i * m * n, (i + 1) * m * n),
      m,
      n,
      k,
      transA,
      transB,
    );
  }
  return out;
});

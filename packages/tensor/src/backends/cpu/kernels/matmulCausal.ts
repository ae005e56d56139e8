import { gemmBatched } from '../gemm.js';
import { cpuKernel } from '../kernel.js';

/** matmul with attention's causal structure (kernels.ts): the hidden block is skipped, not computed and masked. */
export const matmulCausal = cpuKernel('matmulCausal', (be, [a, b], { transA, transB, mode, period, offset }) => {
  const av = be.values(a);
  const bv = be.values(b);
  const [ba, ar, ac] = a.shape;
  const [bb, br, bc] = b.shape;
  const m = transA ? ac : ar;
  const k = transA ? ar : ac;
  const n = transB ? br : bc;
  const batch = Math.max(ba, bb);
  const { out, values } = be.output([batch, m, n], 'f32', false);
  const causal = { mode: mode === 'output' ? ('output' as const) : ('zerosInA' as const), period, offset };
  gemmBatched(av, bv, values, batch, m, n, k, transA, transB, ba === 1, bb === 1, causal);
  return out;
});

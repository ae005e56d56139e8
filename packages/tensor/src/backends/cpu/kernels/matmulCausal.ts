import { gemmBatched } from '../gemm.js';
import { cpuKernel } from '../kernel.js';
import { productSizes } from './matmul.js';

/** matmul with attention's causal structure (kernels.ts): the hidden block is skipped, not computed and masked. */
export const matmulCausal = cpuKernel('matmulCausal', (be, [a, b], { transA, transB, mode, period, offset }) => {
  const av = be.values(a);
  const { ba, bb, batch, m, k, n } = productSizes(a, b, transA, transB);
  const { out, values } = be.output([batch, m, n], 'f32', false);
  // skipA: the entries past the rule are skipped if they are zero. Attention's probabilities are, except in rows a
  // padding mask hides entirely (a uniform average over every key): a row's first skipped entry tells which, and
  // such rows take the plain product
  const skip = mode === 'output' || (!transA && firstHiddenAreZero(av as Float32Array, ba * m, k, period, offset));
  const causal = skip
    ? { mode: mode === 'output' ? ('output' as const) : ('zerosInA' as const), period, offset }
    : undefined;
  gemmBatched(av, be.values(b), values, batch, m, n, k, transA, transB, ba === 1, bb === 1, causal);
  return out;
});

/** Whether each row of the rows × k matrix a is 0 at its first column past (r mod period) + offset. */
function firstHiddenAreZero(a: Float32Array, rows: number, k: number, period: number, offset: number): boolean {
  for (let r = 0; r < rows; r++) {
    const first = Math.max(0, (r % period) + offset + 1);
    if (first < k && a[r * k + first] !== 0) return false;
  }
  return true;
}

import { STEP_STATS, STEP_STATS_SIZE } from '../../../kernels.js';
import { cpuKernel } from '../kernel.js';

const S = STEP_STATS;

/** A training step's verdict (see the contract): in float64 from the f32 inputs, as the trainer computed it on the host. */
export const stepStats = cpuKernel('stepStats', (be, inputs, a) => {
  const sumsq = be.values(inputs[0])[0];
  const losses = be.values(inputs[1]);
  const table = be.values(inputs[2]);
  const prev = inputs[3] ? be.values(inputs[3]) : null;
  const norm = Math.fround(Math.sqrt(sumsq));
  const lossBad = losses.some((l) => !Number.isFinite(l));
  const skip = a.sticky && prev && prev[S.skip] !== 0 ? 3 : lossBad ? 1 : !Number.isFinite(norm) ? 2 : 0;
  const skipsBefore = prev ? prev[S.skips] : 0;
  const pairs = table.length / 2;
  const d = Math.min(Math.max(skipsBefore - a.skipBase, 0), pairs - 1);
  const coef = a.maxNorm / (norm + 1e-6);
  const { out, values } = be.output([STEP_STATS_SIZE], 'f32');
  values[S.norm] = norm;
  values[S.coef] = coef;
  values[S.clip] = coef < 1 ? 1 : 0;
  values[S.skip] = skip;
  values[S.skips] = skipsBefore + (skip ? 1 : 0);
  values[S.stepSize] = table[2 * d];
  values[S.bc2] = table[2 * d + 1];
  return out;
});

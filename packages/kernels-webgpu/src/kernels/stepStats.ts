import { STEP_STATS as S, STEP_STATS_SIZE } from '@peftjs/tensor';
import { gpu, webgpuKernel } from '../kernel.js';
import { WGSL_MATH } from '../wgsl.js';

/** A training step's verdict on the device (see the tensor package's `stepStats` kernel), in one thread. */
export const stepStats = webgpuKernel('stepStats', (be, inputs, a) => {
  const prev = inputs.length > 3;
  const out = be.output([STEP_STATS_SIZE], 'f32', 'stepStats');
  const nl = (inputs[1].dataId as { size: number }).size;
  const pairs = (inputs[2].dataId as { size: number }).size / 2;
  const clipOn = Number.isFinite(a.maxNorm);
  be.dispatch(
    {
      kernel: 'stepStats',
      key: `stepStats:${prev ? 'chain' : 'first'}`,
      uniforms: [
        ['nl', 'u32'],
        ['pairs', 'u32'],
        ['max_norm', 'f32'],
        ['clip_on', 'u32'],
        ['sticky', 'u32'],
        ['skip_base', 'f32'],
      ],
      inputs: [
        { name: 'sq', type: 'f32' },
        { name: 'ls', type: 'f32' },
        { name: 'tb', type: 'f32' },
        ...(prev ? [{ name: 'pv', type: 'f32' }] : []),
      ],
      outputs: [{ name: 'out', type: 'f32' }],
      source: () => `${WGSL_MATH}
fn finite(x: f32) -> bool { return !is_nan(x) && !is_inf(x); }
@compute @workgroup_size(1)
fn main() {
  let norm = sqrt_acc(sq[0]);
  var loss_bad = false;
  for (var k = 0u; k < u.nl; k = k + 1u) { if (!finite(ls[k])) { loss_bad = true; } }
  let prev_skip = ${prev ? `pv[${S.skip}]` : '0.0'};
  let skips = ${prev ? `pv[${S.skips}]` : '0.0'};
  var skip = 0.0;
  if (u.sticky != 0u && prev_skip != 0.0) { skip = 3.0; }
  else if (loss_bad) { skip = 1.0; }
  else if (!finite(norm)) { skip = 2.0; }
  let d = u32(clamp(skips - u.skip_base, 0.0, f32(u.pairs - 1u)));
  var coef = f_inf();
  var clip = 0.0;
  if (u.clip_on != 0u) {
    coef = u.max_norm / (norm + 1e-6);
    if (coef < 1.0) { clip = 1.0; }
  }
  out[${S.norm}] = norm;
  out[${S.coef}] = coef;
  out[${S.clip}] = clip;
  out[${S.skip}] = skip;
  out[${S.skips}] = skips + select(0.0, 1.0, skip != 0.0);
  out[${S.stepSize}] = tb[2u * d];
  out[${S.bc2}] = tb[2u * d + 1u];
  out[7] = 0.0;
}`,
    },
    inputs.map(gpu),
    [out.dataId],
    [nl, pairs, clipOn ? a.maxNorm : 0, clipOn ? 1 : 0, a.sticky ? 1 : 0, a.skipBase],
    [1, 1, 1],
  );
  return out;
});

import { gpu, webgpuKernel } from '../kernel.js';
import { gridGroups } from '../program.js';
import { NAN_MINMAX, rowMain, rowWorkgroup, wgReduce } from '../programs/rows.js';
import { WGSL_MATH } from '../wgsl.js';
import { MASK_UNIFORMS, planMask, visibility } from './maskedSoftmax.js';

/** dx = (y·(dy − Σ y·dy))·scale at visible positions, 0 at masked ones; one workgroup per row. */
export const maskedSoftmaxGrad = webgpuKernel('maskedSoftmaxGrad', (be, [y, dy, mask], { scale, causal }) => {
  const out = be.output(y.shape, 'f32', 'maskedSoftmaxGrad');
  const rank = y.shape.length;
  const c = y.shape[rank - 1] ?? 1;
  const tq = rank >= 2 ? y.shape[rank - 2] : 1;
  const rows = c === 0 ? 0 : out.dataId.size / c;
  if (rows === 0) return out;
  const wg = rowWorkgroup(c);
  const plan = mask ? planMask(be, y, mask) : null;
  be.dispatch(
    {
      kernel: 'maskedSoftmaxGrad',
      key: `maskedSoftmaxGrad:${plan ? 'mask' : 'nomask'}:wg${wg}`,
      uniforms: [
        ['rows', 'u32'],
        ['c', 'u32'],
        ['tq', 'u32'],
        ['causal', 'u32'],
        ['scale', 'f32'],
        ...(plan ? MASK_UNIFORMS : []),
      ],
      inputs: [
        { name: 'ys', type: 'f32' },
        { name: 'dys', type: 'f32' },
        ...(plan ? [{ name: 'ms', type: 'u32' }] : []),
      ],
      outputs: [{ name: 'dxs', type: 'f32' }],
      source: () =>
        rowMain(
          wg,
          `  let base = row * u.c;
  var s = 0.0;
  for (var k = lid; k < u.c; k = k + ${wg}u) { s = s + ys[base + k] * dys[base + k]; }
  s = wg_sum(s, lid);
  for (var k = lid; k < u.c; k = k + ${wg}u) {
    let g = ys[base + k] * (dys[base + k] - s);
    dxs[base + k] = select(0.0, g * u.scale, visible(row, k));
  }`,
          WGSL_MATH + NAN_MINMAX + wgReduce(wg, 'f32') + visibility(plan !== null),
        ),
    },
    plan ? [gpu(y), gpu(dy), plan.data] : [gpu(y), gpu(dy)],
    [out.dataId],
    [rows, c, tq, causal ? 1 : 0, scale, ...(plan ? plan.values : [])],
    gridGroups(rows),
  );
  if (plan?.temp) be.releaseTemp(plan.data);
  return out;
});

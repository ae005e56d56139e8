import { gpu, webgpuKernel } from '../kernel.js';
import { gridGroups } from '../program.js';
import { NAN_MINMAX, rowMain, rowWorkgroup, wgReduce } from '../programs/rows.js';
import { WGSL_MATH } from '../wgsl.js';

/** WGSL: `r`, the row's reciprocal RMS (every thread of the row's workgroup calls it). */
export const RMS_RSTD = (wg: number) => `  var ss = 0.0;
  for (var k = lid; k < u.d; k = k + ${wg}u) { let v = xs[base + k]; ss = ss + v * v; }
  ss = wg_sum(ss, lid);
  let r = 1.0 / sqrt_acc(ss / f32(u.d) + u.eps);`;

/** RMS norm over the last axis, torch's order (x·r, then ·w): one workgroup per row. */
export const rmsNorm = webgpuKernel('rmsNorm', (be, [x, w], { eps }) => {
  const out = be.output(x.shape, 'f32', 'rmsNorm');
  const d = x.shape[x.shape.length - 1] ?? 1;
  const rows = d === 0 ? 0 : out.dataId.size / d;
  if (rows === 0) return out;
  const wg = rowWorkgroup(d);
  be.dispatch(
    {
      kernel: 'rmsNorm',
      key: `rmsNorm:${w ? 'w' : 'plain'}:wg${wg}`,
      uniforms: [
        ['rows', 'u32'],
        ['d', 'u32'],
        ['eps', 'f32'],
      ],
      inputs: [{ name: 'xs', type: 'f32' }, ...(w ? [{ name: 'ws', type: 'f32' }] : [])],
      outputs: [{ name: 'ys', type: 'f32' }],
      source: () =>
        rowMain(
          wg,
          `  let base = row * u.d;
${RMS_RSTD(wg)}
  for (var k = lid; k < u.d; k = k + ${wg}u) { ys[base + k] = (xs[base + k] * r)${w ? ' * ws[k]' : ''}; }`,
          WGSL_MATH + NAN_MINMAX + wgReduce(wg, 'f32'),
        ),
    },
    w ? [gpu(x), gpu(w)] : [gpu(x)],
    [out.dataId],
    [rows, d, eps],
    gridGroups(rows),
  );
  return out;
});

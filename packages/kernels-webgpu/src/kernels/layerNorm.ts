import { gpu, webgpuKernel } from '../kernel.js';
import { gridGroups } from '../program.js';
import { NAN_MINMAX, rowMain, rowWorkgroup, wgReduce } from '../programs/rows.js';
import { WGSL_MATH } from '../wgsl.js';

/** WGSL: the row's mean `mu` and reciprocal standard deviation `r` (every thread of the workgroup calls it). */
export const LAYER_NORM_STATS = (wg: number) => `  var s1 = 0.0;
  for (var k = lid; k < u.d; k = k + ${wg}u) { s1 = s1 + xs[base + k]; }
  let mu = wg_sum(s1, lid) / f32(u.d);
  var s2 = 0.0;
  for (var k = lid; k < u.d; k = k + ${wg}u) { let c = xs[base + k] - mu; s2 = s2 + c * c; }
  s2 = wg_sum(s2, lid);
  let r = 1.0 / sqrt_acc(s2 / f32(u.d) + u.eps);`;

/** Layer norm over the last axis ((x − μ)·r, then ·w, then + b): one workgroup per row. */
export const layerNorm = webgpuKernel('layerNorm', (be, inputs, { eps, weight, bias }) => {
  const [x] = inputs;
  const out = be.output(x.shape, 'f32', 'layerNorm');
  const d = x.shape[x.shape.length - 1] ?? 1;
  const rows = d === 0 ? 0 : out.dataId.size / d;
  if (rows === 0) return out;
  const wg = rowWorkgroup(d);
  be.dispatch(
    {
      kernel: 'layerNorm',
      key: `layerNorm:${weight ? 'w' : ''}${bias ? 'b' : ''}:wg${wg}`,
      uniforms: [
        ['rows', 'u32'],
        ['d', 'u32'],
        ['eps', 'f32'],
      ],
      inputs: [
        { name: 'xs', type: 'f32' },
        ...(weight ? [{ name: 'ws', type: 'f32' }] : []),
        ...(bias ? [{ name: 'bs', type: 'f32' }] : []),
      ],
      outputs: [{ name: 'ys', type: 'f32' }],
      source: () =>
        rowMain(
          wg,
          `  let base = row * u.d;
${LAYER_NORM_STATS(wg)}
  for (var k = lid; k < u.d; k = k + ${wg}u) {
    var y = (xs[base + k] - mu) * r;
${weight ? '    y = y * ws[k];\n' : ''}${bias ? '    y = y + bs[k];\n' : ''}    ys[base + k] = y;
  }`,
          WGSL_MATH + NAN_MINMAX + wgReduce(wg, 'f32'),
        ),
    },
    inputs.map(gpu),
    [out.dataId],
    [rows, d, eps],
    gridGroups(rows),
  );
  return out;
});

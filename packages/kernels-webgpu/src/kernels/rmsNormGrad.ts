import { gpu, webgpuKernel } from '../kernel.js';
import { gridGroups } from '../program.js';
import { NAN_MINMAX, rowMain, rowWorkgroup, wgReduce } from '../programs/rows.js';
import { WGSL_MATH } from '../wgsl.js';
import { RMS_RSTD } from './rmsNorm.js';

/** dx of rmsNorm (a = dy·w; dx = a·r + (Σ a·x · r³ · −½ / D) · 2x): one workgroup per row, r recomputed. */
export const rmsNormGrad = webgpuKernel('rmsNormGrad', (be, [x, dy, w], { eps }) => {
  const out = be.output(x.shape, 'f32', 'rmsNormGrad');
  const d = x.shape[x.shape.length - 1] ?? 1;
  const rows = d === 0 ? 0 : out.dataId.size / d;
  if (rows === 0) return out;
  const wg = rowWorkgroup(d);
  const a = (k: string) => (w ? `(dys[base + ${k}] * ws[${k}])` : `dys[base + ${k}]`);
  be.dispatch(
    {
      kernel: 'rmsNormGrad',
      key: `rmsNormGrad:${w ? 'w' : 'plain'}:wg${wg}`,
      uniforms: [
        ['rows', 'u32'],
        ['d', 'u32'],
        ['eps', 'f32'],
      ],
      inputs: [{ name: 'xs', type: 'f32' }, { name: 'dys', type: 'f32' }, ...(w ? [{ name: 'ws', type: 'f32' }] : [])],
      outputs: [{ name: 'dxs', type: 'f32' }],
      source: () =>
        rowMain(
          wg,
          `  let base = row * u.d;
${RMS_RSTD(wg)}
  var dr = 0.0;
  for (var k = lid; k < u.d; k = k + ${wg}u) { dr = dr + ${a('k')} * xs[base + k]; }
  dr = wg_sum(dr, lid);
  let ds = (dr * (r * r * r * -0.5)) / f32(u.d);
  for (var k = lid; k < u.d; k = k + ${wg}u) {
    let x = xs[base + k];
    dxs[base + k] = ${a('k')} * r + ds * (x * 2.0);
  }`,
          WGSL_MATH + NAN_MINMAX + wgReduce(wg, 'f32'),
        ),
    },
    w ? [gpu(x), gpu(dy), gpu(w)] : [gpu(x), gpu(dy)],
    [out.dataId],
    [rows, d, eps],
    gridGroups(rows),
  );
  return out;
});

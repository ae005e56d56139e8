import { gpu, webgpuKernel } from '../kernel.js';
import { gridGroups } from '../program.js';
import { NAN_MINMAX, rowMain, rowWorkgroup, wgReduce } from '../programs/rows.js';
import { WGSL_MATH } from '../wgsl.js';
import { LAYER_NORM_STATS } from './layerNorm.js';

/**
 * dx of layerNorm: with g = dy·w and c = x − μ, dc = g·r + (Σ g·c · r³ · −½ / D) · 2c and dx = dc − Σdc / D.
 * One workgroup per row; μ and r recomputed.
 */
export const layerNormGrad = webgpuKernel('layerNormGrad', (be, [x, dy, w], { eps, weight }) => {
  const out = be.output(x.shape, 'f32', 'layerNormGrad');
  const d = x.shape[x.shape.length - 1] ?? 1;
  const rows = d === 0 ? 0 : out.dataId.size / d;
  if (rows === 0) return out;
  const wg = rowWorkgroup(d);
  const g = weight ? '(dys[base + k] * ws[k])' : 'dys[base + k]';
  const dc = `${g} * r + ds2 * ((xs[base + k] - mu) * 2.0)`;
  be.dispatch(
    {
      kernel: 'layerNormGrad',
      key: `layerNormGrad:${weight ? 'w' : 'plain'}:wg${wg}`,
      uniforms: [
        ['rows', 'u32'],
        ['d', 'u32'],
        ['eps', 'f32'],
      ],
      inputs: [
        { name: 'xs', type: 'f32' },
        { name: 'dys', type: 'f32' },
        ...(weight ? [{ name: 'ws', type: 'f32' }] : []),
      ],
      outputs: [{ name: 'dxs', type: 'f32' }],
      source: () =>
        rowMain(
          wg,
          `  let base = row * u.d;
${LAYER_NORM_STATS(wg)}
  var dr = 0.0;
  for (var k = lid; k < u.d; k = k + ${wg}u) { dr = dr + ${g} * (xs[base + k] - mu); }
  dr = wg_sum(dr, lid);
  let ds2 = (dr * (r * r * r * -0.5)) / f32(u.d);
  var sdc = 0.0;
  for (var k = lid; k < u.d; k = k + ${wg}u) { sdc = sdc + ${dc}; }
  let ds1 = wg_sum(sdc, lid) / f32(u.d);
  for (var k = lid; k < u.d; k = k + ${wg}u) { dxs[base + k] = ${dc} - ds1; }`,
          WGSL_MATH + NAN_MINMAX + wgReduce(wg, 'f32'),
        ),
    },
    weight ? [gpu(x), gpu(dy), gpu(w)] : [gpu(x), gpu(dy)],
    [out.dataId],
    [rows, d, eps],
    gridGroups(rows),
  );
  return out;
});

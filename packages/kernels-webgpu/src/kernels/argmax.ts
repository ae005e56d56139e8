import { sizeOf } from '@peftjs/tensor';
import { gpu, webgpuKernel } from '../kernel.js';
import { grid1D, gridGroups, mainElementwise, wgslType } from '../program.js';
import { fillBits } from '../programs/fill.js';
import { rowMain, rowWorkgroup } from '../programs/rows.js';
import { WGSL_MATH } from '../wgsl.js';

/**
 * Index (i32) of the first maximum along `axis`, as the CPU's scan: `if (v > best)` from best = −∞, index 0, and
 * the first NaN counts as the maximum (PyTorch; consistent with max() propagating NaN). A row with nothing above
 * −∞ gives 0. Each thread scans its elements in increasing order (stopping at its first NaN), and the tree combine
 * prefers NaN, then the larger value, then the smaller index, so the first maximum wins.
 */
/** Whether candidate b (value, index) beats a: NaN first, then the larger value, then the smaller index. */
const betterFn = (t: 'f32' | 'i32') =>
  t === 'f32'
    ? `fn better(bv: f32, bi: u32, av: f32, ai: u32) -> bool {
  let bn = is_nan(bv);
  let an = is_nan(av);
  if (bn || an) { return bn && (!an || bi < ai); }
  return bv > av || (bv == av && bi < ai);
}`
    : `fn better(bv: i32, bi: u32, av: i32, ai: u32) -> bool { return bv > av || (bv == av && bi < ai); }`;

export const argmax = webgpuKernel('argmax', (be, [x], { axis }) => {
  const shape = x.shape.map((d, i) => (i === axis ? 1 : d));
  const out = be.output(shape, 'i32', 'argmax');
  const outer = sizeOf(x.shape.slice(0, axis));
  const n = x.shape[axis];
  const inner = sizeOf(x.shape.slice(axis + 1));
  const count = outer * inner;
  if (count === 0) return out;
  if (n === 0) {
    fillBits(be, out.dataId, count, 0, 'argmax');
    return out;
  }
  const t = wgslType(x.dtype) as 'f32' | 'i32';
  const lowest = t === 'f32' ? '-f_inf()' : 'bitcast<i32>(0x80000000u)';
  const scan = (start: string, stride: string, index: string) => `  var best: ${t} = ${lowest};
  var arg = 0u;
  for (var k = ${start}; k < u.len; k = k + ${stride}) {
    let v = xs[${index}];
    if (v > best) { best = v; arg = k; }${t === 'f32' ? ' else if (is_nan(v)) { best = v; arg = k; break; }' : ''}
  }`;
  if (inner === 1 || count < 2048) {
    const wg = rowWorkgroup(n);
    be.dispatch(
      {
        kernel: 'argmax',
        key: `argmax:rows:${t}:wg${wg}`,
        uniforms: [
          ['rows', 'u32'],
          ['len', 'u32'],
          ['inner', 'u32'],
        ],
        inputs: [{ name: 'xs', type: t }],
        outputs: [{ name: 'out', type: 'i32' }],
        source: () =>
          rowMain(
            wg,
            `  let o = row / u.inner;
  let i = row % u.inner;
${scan('lid', `${wg}u`, '(o * u.len + k) * u.inner + i')}
  shv[lid] = best;
  shi[lid] = arg;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      let bv = shv[lid + s];
      let bi = shi[lid + s];
      if (better(bv, bi, shv[lid], shi[lid])) { shv[lid] = bv; shi[lid] = bi; }
    }
    workgroupBarrier();
  }
  if (lid == 0u) { out[row] = i32(shi[0]); }`,
            `${WGSL_MATH}\n${betterFn(t)}\nvar<workgroup> shv: array<${t}, ${wg}>;\nvar<workgroup> shi: array<u32, ${wg}>;`,
          ),
      },
      [gpu(x)],
      [out.dataId],
      [count, n, inner],
      gridGroups(count),
    );
  } else {
    be.dispatch(
      {
        kernel: 'argmax',
        key: `argmax:cols:${t}`,
        uniforms: [
          ['n', 'u32'],
          ['len', 'u32'],
          ['inner', 'u32'],
        ],
        inputs: [{ name: 'xs', type: t }],
        outputs: [{ name: 'out', type: 'i32' }],
        source: () =>
          mainElementwise(
            `  let o = i / u.inner;
  let c = i % u.inner;
${scan('0u', '1u', '(o * u.len + k) * u.inner + c')}
  out[i] = i32(arg);`,
            WGSL_MATH,
          ),
      },
      [gpu(x)],
      [out.dataId],
      [count, n, inner],
      grid1D(count),
    );
  }
  return out;
});

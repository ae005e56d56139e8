import { gpu, webgpuKernel } from '../kernel.js';
import { gridGroups } from '../program.js';
import { NAN_MINMAX, rowMain, rowWorkgroup, wgReduce } from '../programs/rows.js';
import { WGSL_MATH } from '../wgsl.js';

/** Softmax / log-softmax over the last axis: one workgroup per row (max, Σexp, write). */
export const softmax = webgpuKernel('softmax', (be, [x], { log }) => {
  const out = be.output(x.shape, 'f32', 'softmax');
  const c = x.shape[x.shape.length - 1] ?? 1;
  const rows = c === 0 ? 0 : out.dataId.size / c;
  if (rows === 0) return out;
  const wg = rowWorkgroup(c);
  const write = log
    ? `  let lse = mx + log_acc(s);
  for (var k = lid; k < u.c; k = k + ${wg}u) { ys[base + k] = xs[base + k] - lse; }`
    : `  for (var k = lid; k < u.c; k = k + ${wg}u) { ys[base + k] = exp_acc(xs[base + k] - mx) / s; }`;
  be.dispatch(
    {
      kernel: 'softmax',
      key: `softmax:${log ? 'log' : 'exp'}:wg${wg}`,
      uniforms: [
        ['rows', 'u32'],
        ['c', 'u32'],
      ],
      inputs: [{ name: 'xs', type: 'f32' }],
      outputs: [{ name: 'ys', type: 'f32' }],
      source: () =>
        rowMain(
          wg,
          `  let base = row * u.c;
  var mx = -f_inf();
  for (var k = lid; k < u.c; k = k + ${wg}u) { mx = max_nan(mx, xs[base + k]); }
  mx = wg_max(mx, lid);
  var s = 0.0;
  for (var k = lid; k < u.c; k = k + ${wg}u) { s = s + exp_acc(xs[base + k] - mx); }
  s = wg_sum(s, lid);
${write}`,
          WGSL_MATH + NAN_MINMAX + wgReduce(wg, 'f32'),
        ),
    },
    [gpu(x)],
    [out.dataId],
    [rows, c],
    gridGroups(rows),
  );
  return out;
});

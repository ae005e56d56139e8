import { gpu, webgpuKernel } from '../kernel.js';
import { gridGroups } from '../program.js';
import { NAN_MINMAX, rowMain, rowWorkgroup, wgReduce } from '../programs/rows.js';
import { WGSL_MATH } from '../wgsl.js';

/**
 * dlogits = (softmax(logits) − onehot(label)) · dloss[row]; rows whose label is ignoreIndex are 0. A label outside
 * [0, C) subtracts nothing (the CPU would write into a neighbouring row or past the end); crossEntropy reports such
 * rows as NaN.
 */
export const crossEntropyGrad = webgpuKernel('crossEntropyGrad', (be, [logits, labels, dloss], { ignoreIndex }) => {
  const [n, c] = logits.shape;
  const out = be.output([n, c], 'f32', 'crossEntropyGrad');
  if (n === 0 || c === 0) return out;
  const wg = rowWorkgroup(c);
  be.dispatch(
    {
      kernel: 'crossEntropyGrad',
      key: `crossEntropyGrad:wg${wg}`,
      uniforms: [
        ['rows', 'u32'],
        ['c', 'u32'],
        ['ignore', 'i32'],
      ],
      inputs: [
        { name: 'xs', type: 'f32' },
        { name: 'labels', type: 'i32' },
        { name: 'dl', type: 'f32' },
      ],
      outputs: [{ name: 'dxs', type: 'f32' }],
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
  let y = labels[row];
  let ignored = y == u.ignore;
  let g = dl[row];
  for (var k = lid; k < u.c; k = k + ${wg}u) {
    var v = (g * exp_acc(xs[base + k] - mx)) / s;
    if (i32(k) == y) { v = v - g; }
    dxs[base + k] = select(v, 0.0, ignored);
  }`,
          WGSL_MATH + NAN_MINMAX + wgReduce(wg, 'f32'),
        ),
    },
    [gpu(logits), gpu(labels), gpu(dloss)],
    [out.dataId],
    [n, c, ignoreIndex | 0],
    gridGroups(n),
  );
  return out;
});

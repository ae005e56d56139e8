import { gpu, webgpuKernel } from '../kernel.js';
import { gridGroups } from '../program.js';
import { NAN_MINMAX, rowMain, rowWorkgroup, wgReduce } from '../programs/rows.js';
import { WGSL_MATH } from '../wgsl.js';

/**
 * Per-row loss −log softmax(logits)[label], 0 where label = ignoreIndex. One workgroup per row.
 *
 * Out-of-range labels (not ignoreIndex and outside [0, C)): the CPU backend throws a KernelError; a shader cannot,
 * and the labels are not on the host. Here such a row's loss is NaN, so that a mean loss over the batch turns NaN
 * visibly instead of silently training on a clamped class.
 */
export const crossEntropy = webgpuKernel('crossEntropy', (be, [logits, labels], { ignoreIndex }) => {
  const [n, c] = logits.shape;
  const out = be.output([n], 'f32', 'crossEntropy');
  if (n === 0) return out;
  const wg = rowWorkgroup(c);
  be.dispatch(
    {
      kernel: 'crossEntropy',
      key: `crossEntropy:wg${wg}`,
      uniforms: [
        ['rows', 'u32'],
        ['c', 'u32'],
        ['ignore', 'i32'],
      ],
      inputs: [
        { name: 'xs', type: 'f32' },
        { name: 'labels', type: 'i32' },
      ],
      outputs: [{ name: 'loss', type: 'f32' }],
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
  if (lid == 0u) {
    let y = labels[row];
    if (y == u.ignore) {
      loss[row] = 0.0;
    } else if (y < 0 || u32(y) >= u.c) {
      loss[row] = f_nan();
    } else {
      loss[row] = mx + log_acc(s) - xs[base + u32(y)];
    }
  }`,
          WGSL_MATH + NAN_MINMAX + wgReduce(wg, 'f32'),
        ),
    },
    [gpu(logits), gpu(labels)],
    [out.dataId],
    [n, c, ignoreIndex | 0],
    gridGroups(n),
  );
  return out;
});

import { sizeOf } from '@peftjs/tensor';
import { gpu, webgpuKernel } from '../kernel.js';
import { grid1D, mainElementwise } from '../program.js';
import { WGSL_MATH } from '../wgsl.js';

/**
 * Indices of the k best entries per row (last axis), best first, exactly as the CPU kernel ranks them: NaN above
 * every number, then the larger value, then the smaller index. One thread per row makes k passes, each picking the
 * best entry ranked below the previous pick (no scratch memory; k is small where topk is used).
 */
export const topk = webgpuKernel('topk', (be, [x], { k }) => {
  const n = x.shape[x.shape.length - 1] ?? 1;
  const rows = sizeOf(x.shape.slice(0, -1));
  const out = be.output([...x.shape.slice(0, -1), k], 'i32', 'topk');
  if (rows === 0 || k === 0) return out;
  be.dispatch(
    {
      kernel: 'topk',
      key: 'topk:rows',
      uniforms: [
        ['n', 'u32'],
        ['len', 'u32'],
        ['k', 'u32'],
      ],
      inputs: [{ name: 'xs', type: 'f32' }],
      outputs: [{ name: 'out', type: 'i32' }],
      source: () =>
        mainElementwise(
          `  let base = i * u.len;
  var prevV = 0.0;
  var prevI = -1;
  for (var j = 0u; j < u.k; j = j + 1u) {
    var bestV = 0.0;
    var bestI = -1;
    for (var c = 0u; c < u.len; c = c + 1u) {
      let v = xs[base + c];
      let ci = i32(c);
      if (prevI >= 0 && !ranks_below(v, ci, prevV, prevI)) { continue; }
      if (bestI < 0 || ranks_below(bestV, bestI, v, ci)) { bestV = v; bestI = ci; }
    }
    out[i * u.k + j] = bestI;
    prevV = bestV;
    prevI = bestI;
  }`,
          `${WGSL_MATH}
fn ranks_below(v: f32, vi: i32, w: f32, wi: i32) -> bool {
  let vn = is_nan(v);
  let wn = is_nan(w);
  if (vn != wn) { return wn; }
  if (!vn && v != w) { return v < w; }
  return vi > wi;
}`,
        ),
    },
    [gpu(x)],
    [out.dataId],
    [rows, n, k],
    grid1D(rows),
  );
  return out;
});

import { sizeOf } from '@peftjs/tensor';
import { gpu, webgpuKernel } from '../kernel.js';
import { grid1D, mainElementwise } from '../program.js';
import { fillBits } from '../programs/fill.js';

/**
 * Zeros of `shape`, then out[o, indices[j], t] += dy[o, j, t] (gather's gradient). One thread per dy element adds
 * into the output with an atomic: i32 with atomicAdd, f32 with a compare-exchange loop on the bits (WGSL has no
 * float atomics). With repeated indices the order of the additions varies between runs, so sums of repeated rows
 * may differ in the last bits (the CPU adds in index order).
 *
 * Out-of-range indices (the CPU would write outside the row or drop the value): the contribution is DROPPED.
 */
export const scatterAdd = webgpuKernel('scatterAdd', (be, [dy, indices], { axis, shape }) => {
  const out = be.output(shape, dy.dtype, 'scatterAdd');
  const total = sizeOf(shape);
  fillBits(be, out.dataId, total, 0, 'scatterAdd');
  const count = sizeOf(dy.shape);
  if (total === 0 || count === 0) return out;
  const n = shape[axis];
  const inner = sizeOf(shape.slice(axis + 1));
  const m = sizeOf(indices.shape);
  const isF32 = dy.dtype === 'f32';
  const add = isF32
    ? `  var old = atomicLoad(&out[dst]);
  loop {
    let r = atomicCompareExchangeWeak(&out[dst], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
    old = r.old_value;
  }`
    : '  atomicAdd(&out[dst], v);';
  be.dispatch(
    {
      kernel: 'scatterAdd',
      key: `scatterAdd:${isF32 ? 'f32' : 'i32'}`,
      uniforms: [
        ['n', 'u32'],
        ['len', 'u32'],
        ['inner', 'u32'],
        ['m', 'u32'],
      ],
      inputs: [
        { name: 'dys', type: isF32 ? 'f32' : 'i32' },
        { name: 'idx', type: 'i32' },
      ],
      outputs: [{ name: 'out', type: isF32 ? 'atomic<u32>' : 'atomic<i32>' }],
      source: () =>
        mainElementwise(`  let t = i % u.inner;
  let q = i / u.inner;
  let j = q % u.m;
  let o = q / u.m;
  let r = idx[j];
  if (r < 0 || u32(r) >= u.len) { return; }
  let dst = (o * u.len + u32(r)) * u.inner + t;
  let v = dys[i];
${add}`),
    },
    [gpu(dy), gpu(indices)],
    [out.dataId],
    [count, n, inner, m],
    grid1D(count),
  );
  return out;
});

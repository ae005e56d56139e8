import { sizeOf } from '@peftjs/tensor';
import { gpu, webgpuKernel } from '../kernel.js';
import { grid1D, mainElementwise } from '../program.js';

/**
 * out[o, j, t] = x[o, indices[j], t] along `axis` (values move as 32-bit words: any dtype).
 *
 * Out-of-range indices: the CPU backend throws a KernelError, but a shader cannot throw and the indices are not
 * on the host. Here an index outside [0, n) yields ZERO for that slice (0.0 / 0 / false), without reading out of
 * bounds. Validate indices on the host (or on the CPU backend) when they are untrusted.
 */
export const gather = webgpuKernel('gather', (be, [x, indices], { axis }) => {
  const shape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
  const out = be.output(shape, x.dtype, 'gather');
  const total = sizeOf(shape);
  if (total === 0) return out;
  const n = x.shape[axis];
  const inner = sizeOf(x.shape.slice(axis + 1));
  const m = sizeOf(indices.shape);
  be.dispatch(
    {
      kernel: 'gather',
      key: 'gather',
      uniforms: [
        ['n', 'u32'],
        ['len', 'u32'],
        ['inner', 'u32'],
        ['m', 'u32'],
      ],
      inputs: [
        { name: 'xs', type: 'u32' },
        { name: 'idx', type: 'i32' },
      ],
      outputs: [{ name: 'out', type: 'u32' }],
      source: () =>
        mainElementwise(`  let t = i % u.inner;
  let q = i / u.inner;
  let j = q % u.m;
  let o = q / u.m;
  let r = idx[j];
  if (r < 0 || u32(r) >= u.len) { out[i] = 0u; return; }
  out[i] = xs[(o * u.len + u32(r)) * u.inner + t];`),
    },
    [gpu(x), gpu(indices)],
    [out.dataId],
    [total, n, inner, m],
    grid1D(total),
  );
  return out;
});

import { broadcastStrides } from '@peftjs/tensor';
import { gpu, webgpuKernel } from '../kernel.js';
import { collapseDims, grid1D, mainElementwise, stridedIndexing, stridedValues } from '../program.js';

/** out = cond ? a : b with broadcasting; values move as 32-bit words, so one program serves every dtype. */
export const where = webgpuKernel('where', (be, [cond, a, b], { shape }) => {
  const out = be.output(shape, a.dtype, 'where');
  const n = out.dataId.size;
  if (n === 0) return out;
  const c = collapseDims(
    shape,
    [cond.shape, a.shape, b.shape].map((s) => broadcastStrides(s, shape)),
  );
  const rank = c.shape.length;
  const { fields, code } = stridedIndexing(rank, ['c', 'a', 'b']);
  be.dispatch(
    {
      kernel: 'where',
      key: `where:r${rank}`,
      uniforms: [['n', 'u32'], ...fields],
      inputs: [
        { name: 'cs', type: 'u32' },
        { name: 'as_', type: 'u32' },
        { name: 'bs_', type: 'u32' },
      ],
      outputs: [{ name: 'out', type: 'u32' }],
      source: () => mainElementwise(`${code}\n  out[i] = select(bs_[off_b], as_[off_a], cs[off_c] != 0u);`),
    },
    [gpu(cond), gpu(a), gpu(b)],
    [out.dataId],
    [n, ...stridedValues(c.shape, c.strides)],
    grid1D(n),
  );
  return out;
});

import type { CompareOp } from '@peftjs/tensor';
import { broadcastStrides } from '@peftjs/tensor';
import { gpu, webgpuKernel } from '../kernel.js';
import { collapseDims, grid1D, mainElementwise, stridedIndexing, stridedValues, wgslType } from '../program.js';
import { WGSL_MATH } from '../wgsl.js';

const OPS: Record<CompareOp, string> = { eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=' };

/** bool (u32 0/1) out = a op b with broadcasting. f32 comparisons with NaN are false (ne: true), by bit tests. */
export const compare = webgpuKernel('compare', (be, [a, b], { op, shape }) => {
  const out = be.output(shape, 'bool', 'compare');
  const n = out.dataId.size;
  if (n === 0) return out;
  const t = wgslType(a.dtype);
  const c = collapseDims(shape, [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)]);
  const rank = c.shape.length;
  const { fields, code } = stridedIndexing(rank, ['a', 'b']);
  let expr = `a ${OPS[op]} b`;
  if (t === 'f32') {
    expr = op === 'ne' ? '(is_nan(a) || is_nan(b) || a != b)' : `(!is_nan(a) && !is_nan(b) && a ${OPS[op]} b)`;
  }
  be.dispatch(
    {
      kernel: 'compare',
      key: `compare:${op}:${t}:r${rank}`,
      uniforms: [['n', 'u32'], ...fields],
      inputs: [
        { name: 'as_', type: t },
        { name: 'bs_', type: t },
      ],
      outputs: [{ name: 'out', type: 'u32' }],
      source: () =>
        mainElementwise(
          `${code}\n  let a = as_[off_a];\n  let b = bs_[off_b];\n  out[i] = select(0u, 1u, ${expr});`,
          t === 'f32' ? WGSL_MATH : '',
        ),
    },
    [gpu(a), gpu(b)],
    [out.dataId],
    [n, ...stridedValues(c.shape, c.strides)],
    grid1D(n),
  );
  return out;
});

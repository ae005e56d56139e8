import { sizeOf } from '@peftjs/tensor';
import { gpu, webgpuKernel } from '../kernel.js';
import { grid1D, mainElementwise, type Program } from '../program.js';

const PLACE: Program = {
  kernel: 'concat',
  key: 'concat:place',
  uniforms: [
    ['n', 'u32'],
    ['rowIn', 'u32'],
    ['rowOut', 'u32'],
    ['offset', 'u32'],
  ],
  inputs: [{ name: 'xs', type: 'u32' }],
  outputs: [{ name: 'out', type: 'u32' }],
  source: () => mainElementwise('  out[(i / u.rowIn) * u.rowOut + u.offset + i % u.rowIn] = xs[i];'),
};

/** Join along `axis`: one dispatch per input places its [outer, rowIn] rows at a column offset of [outer, rowOut]. */
export const concat = webgpuKernel('concat', (be, inputs, { axis }) => {
  const first = inputs[0];
  const shape = first.shape.map((d, i) => (i === axis ? inputs.reduce((s, t) => s + t.shape[axis], 0) : d));
  const out = be.output(shape, first.dtype, 'concat');
  const inner = sizeOf(shape.slice(axis + 1));
  const rowOut = shape[axis] * inner;
  let offset = 0;
  for (const t of inputs) {
    const rowIn = t.shape[axis] * inner;
    const n = sizeOf(t.shape);
    if (n > 0) be.dispatch(PLACE, [gpu(t)], [out.dataId], [n, rowIn, rowOut, offset], grid1D(n));
    offset += rowIn;
  }
  return out;
});

import { sizeOf, stridesOf } from '@peftjs/tensor';
import { gpu, webgpuKernel } from '../kernel.js';
import { grid1D, mainElementwise } from '../program.js';

/** Zeros of `shape` with x written at `begin`: each output element reads x when it lies in the box, else 0. */
export const padSlice = webgpuKernel('padSlice', (be, [x], { shape, begin }) => {
  const out = be.output(shape, x.dtype, 'padSlice');
  const n = sizeOf(shape);
  if (n === 0) return out;
  const rank = Math.max(1, shape.length);
  const outShape = shape.length ? shape : [1];
  const xShape = x.shape.length ? x.shape : [1];
  const b = begin.length ? begin : [0];
  const xStrides = stridesOf(xShape);
  const fields: [string, 'u32'][] = [['n', 'u32']];
  for (let d = 0; d < rank; d++)
    fields.push([`sh${d}`, 'u32'], [`b${d}`, 'u32'], [`xs${d}`, 'u32'], [`xst${d}`, 'u32']);
  const lines = ['  var rem = i;', '  var off = 0u;', '  var inside = true;'];
  for (let d = rank - 1; d >= 0; d--) {
    lines.push(
      `  { let c = ${d === 0 ? 'rem' : `rem % u.sh${d}`}; ${d === 0 ? '' : `rem = rem / u.sh${d};`}`,
      `    inside = inside && c >= u.b${d} && c - u.b${d} < u.xs${d};`,
      `    off += (c - u.b${d}) * u.xst${d}; }`,
    );
  }
  lines.push('  out[i] = select(0u, xv[select(0u, off, inside)], inside);');
  const values: number[] = [n];
  for (let d = 0; d < rank; d++) values.push(outShape[d], b[d], xShape[d], xStrides[d]);
  be.dispatch(
    {
      kernel: 'padSlice',
      key: `padSlice:r${rank}`,
      uniforms: fields,
      inputs: [{ name: 'xv', type: 'u32' }],
      outputs: [{ name: 'out', type: 'u32' }],
      source: () => mainElementwise(lines.join('\n')),
    },
    [gpu(x)],
    [out.dataId],
    values,
    grid1D(n),
  );
  return out;
});

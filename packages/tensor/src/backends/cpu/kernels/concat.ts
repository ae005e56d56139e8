import { cpuKernel } from '../kernel.js';
import { sizeOf } from '../../../shape.js';

export const concat = cpuKernel('concat', (be, inputs, { axis }) => {
  const first = inputs[0];
  const shape = first.shape.map((d, i) => (i === axis ? inputs.reduce((s, t) => s + t.shape[axis], 0) : d));
  const { out, values } = be.output(shape, first.dtype, false);
  const outer = sizeOf(shape.slice(0, axis));
  const inner = sizeOf(shape.slice(axis + 1));
  const rowOut = shape[axis] * inner;
  let offset = 0;
  for (const t of inputs) {
    const tv = be.values(t);
    const rowIn = t.shape[axis] * inner;
    for (let o = 0; o < outer; o++) values.set(tv.subarray(o * rowIn, (o + 1) * rowIn), o * rowOut + offset);
    offset += rowIn;
  }
  return out;
});

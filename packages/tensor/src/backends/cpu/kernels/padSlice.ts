import { cpuKernel } from '../kernel.js';
import { copyBox } from '../box.js';

export const padSlice = cpuKernel('padSlice', (be, [x], { shape, begin }) => {
  const { out, values } = be.output(shape, x.dtype);
  copyBox(
    be.values(x),
    x.shape,
    x.shape.map(() => 0),
    values,
    shape,
    begin,
    x.shape,
  );
  return out;
});

import { cpuKernel } from '../kernel.js';
import { copyBox } from '../box.js';

export const slice = cpuKernel('slice', (be, [x], { begin, size }) => {
  const { out, values } = be.output(size, x.dtype, false);
  copyBox(
    be.values(x),
    x.shape,
    begin,
    values,
    size,
    size.map(() => 0),
    size,
  );
  return out;
});

import { stridesOf } from '@peftjs/tensor';
import { gpu, webgpuKernel } from '../kernel.js';
import { copyStrided } from '../programs/strided.js';

/** Copy the box [begin, begin + size): x's strides from the box's first element. */
export const slice = webgpuKernel('slice', (be, [x], { begin, size }) => {
  const out = be.output(size, x.dtype, 'slice');
  const strides = stridesOf(x.shape);
  const base = begin.reduce((acc, b, d) => acc + b * strides[d], 0);
  copyStrided(be, 'slice', gpu(x), out.dataId, size, strides, base);
  return out;
});

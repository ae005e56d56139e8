import { stridesOf } from '@peftjs/tensor';
import { gpu, webgpuKernel } from '../kernel.js';
import { copyStrided } from '../programs/strided.js';

/** Permute axes: the output walks x through permuted strides (collapsed where axes stay adjacent). */
export const transpose = webgpuKernel('transpose', (be, [x], { perm }) => {
  const shape = perm.map((p) => x.shape[p]);
  const out = be.output(shape, x.dtype, 'transpose');
  const inStrides = stridesOf(x.shape);
  copyStrided(
    be,
    'transpose',
    gpu(x),
    out.dataId,
    shape,
    perm.map((p) => inStrides[p]),
    0,
  );
  return out;
});

import { broadcastStrides } from '@peftjs/tensor';
import { gpu, webgpuKernel } from '../kernel.js';
import { copyStrided } from '../programs/strided.js';

/** Materialise a numpy broadcast: stride 0 along broadcast axes. */
export const broadcastTo = webgpuKernel('broadcastTo', (be, [x], { shape }) => {
  const out = be.output(shape, x.dtype, 'broadcastTo');
  copyStrided(be, 'broadcastTo', gpu(x), out.dataId, shape, broadcastStrides(x.shape, shape), 0);
  return out;
});

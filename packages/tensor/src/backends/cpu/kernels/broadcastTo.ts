import { cpuKernel } from '../kernel.js';
import { forEachBroadcastRow } from '../broadcast.js';

export const broadcastTo = cpuKernel('broadcastTo', (be, [x], { shape }) => {
  const xv = be.values(x);
  const { out, values } = be.output(shape, x.dtype, false);
  forEachBroadcastRow(shape, [x.shape], (o, n, [ix], [sx]) => {
    if (sx === 1) values.set(xv.subarray(ix, ix + n), o);
    else for (let i = 0; i < n; i++) values[o + i] = xv[ix + i * sx];
  });
  return out;
});

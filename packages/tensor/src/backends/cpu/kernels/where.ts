import { cpuKernel } from '../kernel.js';
import { forEachBroadcastRow } from '../broadcast.js';

export const where = cpuKernel('where', (be, [cond, a, b], { shape }) => {
  const cv = be.values(cond);
  const av = be.values(a);
  const bv = be.values(b);
  const { out, values } = be.output(shape, a.dtype, false);
  forEachBroadcastRow(shape, [cond.shape, a.shape, b.shape], (o, n, [ic, ia, ib], [sc, sa, sb]) => {
    if (sb === 0) {
      // the common masking form: where(mask, x, constant)
      const y = bv[ib];
      for (let i = 0; i < n; i++) values[o + i] = cv[ic + i * sc] ? av[ia + i * sa] : y;
    } else for (let i = 0; i < n; i++) values[o + i] = cv[ic + i * sc] ? av[ia + i * sa] : bv[ib + i * sb];
  });
  return out;
});

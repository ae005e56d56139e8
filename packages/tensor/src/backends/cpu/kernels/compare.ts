import type { CompareOp } from '../../../kernels.js';
import { cpuKernel } from '../kernel.js';
import { forEachBroadcastRow } from '../broadcast.js';

const FNS: Record<CompareOp, (a: number, b: number) => boolean> = {
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
  lt: (a, b) => a < b,
  le: (a, b) => a <= b,
  gt: (a, b) => a > b,
  ge: (a, b) => a >= b,
};

export const compare = cpuKernel('compare', (be, [a, b], { op, shape }) => {
  const av = be.values(a);
  const bv = be.values(b);
  const { out, values } = be.output<Uint8Array>(shape, 'bool');
  const f = FNS[op];
  forEachBroadcastRow(shape, [a.shape, b.shape], (o, n, [ia, ib], [sa, sb]) => {
    for (let i = 0; i < n; i++) values[o + i] = f(av[ia + i * sa], bv[ib + i * sb]) ? 1 : 0;
  });
  return out;
});

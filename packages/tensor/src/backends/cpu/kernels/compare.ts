import type { CompareOp } from '../../../kernels.js';
import { cpuKernel } from '../kernel.js';
import { forEachBroadcastRow } from '../broadcast.js';

export const compare = cpuKernel('compare', (be, [a, b], { op, shape }) => {
  const av = be.values(a);
  const bv = be.values(b);
  const { out, values } = be.output<Uint8Array>(shape, 'bool', false);
  forEachBroadcastRow(shape, [a.shape, b.shape], (o, n, [ia, ib], [sa, sb]) => {
    // a loop per op: a comparison callback per element cost more than the comparison
    switch (op as CompareOp) {
      case 'eq':
        for (let i = 0; i < n; i++) values[o + i] = av[ia + i * sa] === bv[ib + i * sb] ? 1 : 0;
        return;
      case 'ne':
        for (let i = 0; i < n; i++) values[o + i] = av[ia + i * sa] !== bv[ib + i * sb] ? 1 : 0;
        return;
      case 'lt':
        for (let i = 0; i < n; i++) values[o + i] = av[ia + i * sa] < bv[ib + i * sb] ? 1 : 0;
        return;
      case 'le':
        for (let i = 0; i < n; i++) values[o + i] = av[ia + i * sa] <= bv[ib + i * sb] ? 1 : 0;
        return;
      case 'gt':
        for (let i = 0; i < n; i++) values[o + i] = av[ia + i * sa] > bv[ib + i * sb] ? 1 : 0;
        return;
      case 'ge':
        for (let i = 0; i < n; i++) values[o + i] = av[ia + i * sa] >= bv[ib + i * sb] ? 1 : 0;
        return;
    }
  });
  return out;
});

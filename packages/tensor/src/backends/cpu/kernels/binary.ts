import type { BinaryOp } from '../../../kernels.js';
import { cpuKernel } from '../kernel.js';
import { forEachBroadcastRow } from '../broadcast.js';

const FNS: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => a ** b,
  maximum: (a, b) => (a >= b || Number.isNaN(a) ? a : b),
  minimum: (a, b) => (a <= b || Number.isNaN(a) ? a : b),
};

export const binary = cpuKernel('binary', (be, [a, b], { op, shape }) => {
  const av = be.values(a);
  const bv = be.values(b);
  const { out, values } = be.output(shape, a.dtype);
  const f = FNS[op];
  // i32: division truncates toward zero, as torch's integer division with rounding_mode='trunc'; products wrap
  // around in 32 bits (a float64 product would lose the low bits beyond 2^53 before the store wraps it).
  const g =
    a.dtype !== 'i32' ? f : op === 'div' ? (x: number, y: number) => Math.trunc(x / y) : op === 'mul' ? Math.imul : f;
  forEachBroadcastRow(shape, [a.shape, b.shape], (o, n, [ia, ib], [sa, sb]) => {
    for (let i = 0; i < n; i++) values[o + i] = g(av[ia + i * sa], bv[ib + i * sb]);
  });
  return out;
});

import type { TypedArray } from '../../../dtype.js';
import type { BinaryOp } from '../../../kernels.js';
import { cpuKernel } from '../kernel.js';
import { forEachBroadcastRow } from '../broadcast.js';
import { simdBinary } from '../simd.js';

/**
 * One row: out[o + i] = a[ia + i·sa] op b[ib + i·sb]. A loop per op (no function call per element: a closure
 * call there was most of the CPU step's time). f32 results are the float64 result rounded once, which is the
 * correctly rounded f32 result for + − × ÷.
 */
function binaryRow(
  op: BinaryOp,
  int: boolean,
  out: TypedArray,
  o: number,
  n: number,
  av: TypedArray,
  ia: number,
  sa: number,
  bv: TypedArray,
  ib: number,
  sb: number,
): void {
  switch (op) {
    case 'add':
      if (sa === 1 && sb === 1) for (let i = 0; i < n; i++) out[o + i] = av[ia + i] + bv[ib + i];
      else if (sa === 1 && sb === 0) {
        const y = bv[ib];
        for (let i = 0; i < n; i++) out[o + i] = av[ia + i] + y;
      } else for (let i = 0; i < n; i++) out[o + i] = av[ia + i * sa] + bv[ib + i * sb];
      return;
    case 'sub':
      if (sa === 1 && sb === 1) for (let i = 0; i < n; i++) out[o + i] = av[ia + i] - bv[ib + i];
      else for (let i = 0; i < n; i++) out[o + i] = av[ia + i * sa] - bv[ib + i * sb];
      return;
    case 'mul':
      // i32 products wrap around in 32 bits (a float64 product would lose the low bits beyond 2^53)
      if (int) for (let i = 0; i < n; i++) out[o + i] = Math.imul(av[ia + i * sa], bv[ib + i * sb]);
      else if (sa === 1 && sb === 1) for (let i = 0; i < n; i++) out[o + i] = av[ia + i] * bv[ib + i];
      else if (sa === 1 && sb === 0) {
        const y = bv[ib];
        for (let i = 0; i < n; i++) out[o + i] = av[ia + i] * y;
      } else for (let i = 0; i < n; i++) out[o + i] = av[ia + i * sa] * bv[ib + i * sb];
      return;
    case 'div':
      // i32: division truncates toward zero, as torch's integer division with rounding_mode='trunc'
      if (int) for (let i = 0; i < n; i++) out[o + i] = Math.trunc(av[ia + i * sa] / bv[ib + i * sb]);
      else if (sa === 1 && sb === 1) for (let i = 0; i < n; i++) out[o + i] = av[ia + i] / bv[ib + i];
      else for (let i = 0; i < n; i++) out[o + i] = av[ia + i * sa] / bv[ib + i * sb];
      return;
    case 'pow':
      for (let i = 0; i < n; i++) out[o + i] = av[ia + i * sa] ** bv[ib + i * sb];
      return;
    case 'maximum':
      for (let i = 0; i < n; i++) {
        const x = av[ia + i * sa];
        const y = bv[ib + i * sb];
        out[o + i] = x >= y || Number.isNaN(x) ? x : y;
      }
      return;
    case 'minimum':
      for (let i = 0; i < n; i++) {
        const x = av[ia + i * sa];
        const y = bv[ib + i * sb];
        out[o + i] = x <= y || Number.isNaN(x) ? x : y;
      }
      return;
  }
}

export const binary = cpuKernel('binary', (be, [a, b], { op, shape }) => {
  const av = be.values(a);
  const bv = be.values(b);
  const { out, values } = be.output(shape, a.dtype, false);
  const int = a.dtype === 'i32';
  // f32 + − × ÷ of large outputs: the WebAssembly SIMD kernel, the same bits as the loops below
  if (
    a.dtype === 'f32' &&
    simdBinary(op, values as Float32Array, av as Float32Array, a.shape, bv as Float32Array, b.shape, shape)
  )
    return out;
  forEachBroadcastRow(shape, [a.shape, b.shape], (o, n, [ia, ib], [sa, sb]) => {
    binaryRow(op, int, values, o, n, av, ia, sa, bv, ib, sb);
  });
  return out;
});

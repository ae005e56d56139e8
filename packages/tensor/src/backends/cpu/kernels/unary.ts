import type { UnaryOp } from '../../../kernels.js';
import * as m from '../../../math.js';
import { cpuKernel } from '../kernel.js';

const FNS: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  abs: Math.abs,
  tanh: Math.tanh,
  sigmoid: m.sigmoid,
  relu: (x) => (x > 0 || Number.isNaN(x) ? x : 0), // NaN propagates, as in PyTorch
  gelu: m.gelu,
  geluTanh: m.geluTanh,
  silu: (x) => x * m.sigmoid(x),
  sin: Math.sin,
  cos: Math.cos,
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
};

export const unary = cpuKernel('unary', (b, [x], { op }) => {
  const xs = b.values(x);
  const { out, values } = b.output(x.shape, x.dtype);
  // i32 squares wrap around in 32 bits (see binary mul)
  const f = x.dtype === 'i32' && op === 'square' ? (v: number) => Math.imul(v, v) : FNS[op];
  for (let i = 0; i < xs.length; i++) values[i] = f(xs[i]);
  return out;
});

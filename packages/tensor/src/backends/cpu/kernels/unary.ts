import type { TypedArray } from '../../../dtype.js';
import type { UnaryOp } from '../../../kernels.js';
import * as m from '../../../math.js';
import { cpuKernel } from '../kernel.js';
import { simdSigmoid } from '../simd.js';

/** out[i] = op(x[i]): a loop per op for the hot ones (no call per element), a callback for the rest. */
function unaryLoop(op: UnaryOp, int: boolean, xs: TypedArray, out: TypedArray): void {
  const n = xs.length;
  switch (op) {
    case 'neg':
      for (let i = 0; i < n; i++) out[i] = -xs[i];
      return;
    case 'exp':
      for (let i = 0; i < n; i++) out[i] = Math.exp(xs[i]);
      return;
    case 'log':
      for (let i = 0; i < n; i++) out[i] = Math.log(xs[i]);
      return;
    case 'sqrt':
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(xs[i]);
      return;
    case 'rsqrt':
      for (let i = 0; i < n; i++) out[i] = 1 / Math.sqrt(xs[i]);
      return;
    case 'square':
      // i32 squares wrap around in 32 bits (see binary mul)
      if (int) for (let i = 0; i < n; i++) out[i] = Math.imul(xs[i], xs[i]);
      else
        for (let i = 0; i < n; i++) {
          const x = xs[i];
          out[i] = x * x;
        }
      return;
    case 'silu':
      for (let i = 0; i < n; i++) {
        const x = xs[i];
        out[i] = x * m.sigmoid(x);
      }
      return;
    default: {
      const f = FNS[op];
      for (let i = 0; i < n; i++) out[i] = f(xs[i]);
    }
  }
}

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
  const { out, values } = b.output(x.shape, x.dtype, false);
  // sigmoid / SiLU of large f32 inputs: the WebAssembly SIMD kernel (V8's Math.exp in float64, the same bits)
  if ((op === 'silu' || op === 'sigmoid') && x.dtype === 'f32') {
    if (simdSigmoid(xs as Float32Array, values as Float32Array, op === 'silu')) return out;
  }
  unaryLoop(op, x.dtype === 'i32', xs, values);
  return out;
});

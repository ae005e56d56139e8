import type { UnaryGradOp } from '../../../kernels.js';
import * as m from '../../../math.js';
import { cpuKernel } from '../kernel.js';
import { simdSigmoidGrad } from '../simd.js';

/** Derivative of each op at x. */
const DERIVATIVES: Record<UnaryGradOp, (x: number) => number> = {
  tanh: (x) => 1 - Math.tanh(x) ** 2,
  sigmoid: (x) => {
    const s = m.sigmoid(x);
    return s * (1 - s);
  },
  relu: (x) => (x > 0 ? 1 : 0),
  gelu: m.geluGrad,
  geluTanh: m.geluTanhGrad,
  silu: (x) => {
    const s = m.sigmoid(x);
    return s * (1 + x * (1 - s));
  },
};

export const unaryGrad = cpuKernel('unaryGrad', (b, [x, dy], { op }) => {
  const xs = b.values(x);
  const dys = b.values(dy);
  const { out, values } = b.output(x.shape, 'f32', false);
  if ((op === 'silu' || op === 'sigmoid') && simdSigmoidGrad(xs, dys, values, op === 'silu')) return out;
  if (op === 'silu') {
    // the SwiGLU hot path, without a call per element
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i];
      const s = m.sigmoid(x);
      values[i] = dys[i] * (s * (1 + x * (1 - s)));
    }
    return out;
  }
  const d = DERIVATIVES[op];
  for (let i = 0; i < xs.length; i++) values[i] = dys[i] * d(xs[i]);
  return out;
});

import type { UnaryOp } from '@peftjs/tensor';
import { gpu, webgpuKernel } from '../kernel.js';
import { grid1D, mainElementwise, wgslType } from '../program.js';
import { WGSL_MATH } from '../wgsl.js';

/** f32 forms; NaN and infinities behave as the CPU backend's (see wgsl.ts for the accuracy of each function). */
const F32: Record<UnaryOp, string> = {
  neg: '-x',
  exp: 'exp_acc(x)',
  log: 'log_acc(x)',
  sqrt: 'sqrt_acc(x)',
  rsqrt: '1.0 / sqrt_acc(x)',
  abs: 'abs(x)',
  tanh: 'tanh_acc(x)',
  sigmoid: 'sigmoid_acc(x)',
  relu: 'select(0.0, x, x > 0.0 || is_nan(x))', // NaN propagates, as in PyTorch
  gelu: 'gelu_f(x)',
  geluTanh: 'gelu_tanh_f(x)',
  silu: 'x * sigmoid_acc(x)',
  sin: 'sin_acc(x)',
  cos: 'cos_acc(x)',
  square: 'x * x',
  reciprocal: '1.0 / x',
  sign: 'select(select(0.0, -1.0, x < 0.0), 1.0, x > 0.0)',
};

/** i32 forms (the op layer allows neg, abs, sign and square on i32); arithmetic wraps as Int32Array stores do. */
const I32: Partial<Record<UnaryOp, string>> = {
  neg: '-x',
  abs: 'abs(x)',
  sign: 'select(select(0, -1, x < 0), 1, x > 0)',
  square: 'x * x',
};

/** y = op(x), one thread per element. */
export const unary = webgpuKernel('unary', (be, [x], { op }) => {
  const out = be.output(x.shape, x.dtype, 'unary');
  const n = out.dataId.size;
  if (n === 0) return out;
  const t = wgslType(x.dtype);
  const expr = t === 'f32' ? F32[op] : I32[op];
  if (!expr) throw new TypeError(`unary: op '${op}' does not take ${x.dtype}`);
  be.dispatch(
    {
      kernel: 'unary',
      key: `unary:${op}:${t}`,
      uniforms: [['n', 'u32']],
      inputs: [{ name: 'xs', type: t }],
      outputs: [{ name: 'ys', type: t }],
      source: () => mainElementwise(`  let x = xs[i];\n  ys[i] = ${expr};`, t === 'f32' ? WGSL_MATH : ''),
    },
    [gpu(x)],
    [out.dataId],
    [n],
    grid1D(n),
  );
  return out;
});

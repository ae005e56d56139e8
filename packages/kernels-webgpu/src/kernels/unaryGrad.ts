import type { UnaryGradOp } from '@peftjs/tensor';
import { gpu, webgpuKernel } from '../kernel.js';
import { grid1D, mainElementwise } from '../program.js';
import { WGSL_MATH } from '../wgsl.js';

/** op'(x), as the CPU backend's DERIVATIVES. */
const DERIVATIVE: Record<UnaryGradOp, string> = {
  tanh: 'let t = tanh_acc(x); let d = 1.0 - t * t;',
  sigmoid: 'let s = sigmoid_acc(x); let d = s * (1.0 - s);',
  relu: 'let d = select(0.0, 1.0, x > 0.0);',
  gelu: 'let d = gelu_grad(x);',
  geluTanh: 'let d = gelu_tanh_grad(x);',
  silu: 'let s = sigmoid_acc(x); let d = s * (1.0 + x * (1.0 - s));',
};

/** dx = dy · op'(x). */
export const unaryGrad = webgpuKernel('unaryGrad', (be, [x, dy], { op }) => {
  const out = be.output(x.shape, 'f32', 'unaryGrad');
  const n = out.dataId.size;
  if (n === 0) return out;
  be.dispatch(
    {
      kernel: 'unaryGrad',
      key: `unaryGrad:${op}`,
      uniforms: [['n', 'u32']],
      inputs: [
        { name: 'xs', type: 'f32' },
        { name: 'dys', type: 'f32' },
      ],
      outputs: [{ name: 'dxs', type: 'f32' }],
      source: () => mainElementwise(`  let x = xs[i];\n  ${DERIVATIVE[op]}\n  dxs[i] = dys[i] * d;`, WGSL_MATH),
    },
    [gpu(x), gpu(dy)],
    [out.dataId],
    [n],
    grid1D(n),
  );
  return out;
});

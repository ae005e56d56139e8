import { gpu, webgpuKernel } from '../kernel.js';
import { grid1D, mainElementwise } from '../program.js';
import { WGSL_MATH } from '../wgsl.js';

/** One gradient of siluMul: gate: (dy·up)·silu′(gate) (as unaryGrad's silu′); up: dy·silu(gate). */
export const siluMulGrad = webgpuKernel('siluMulGrad', (be, [gate, up, dy], { part }) => {
  const out = be.output(gate.shape, 'f32', 'siluMulGrad');
  const n = out.dataId.size;
  if (n === 0) return out;
  const body =
    part === 'gate'
      ? '  let s = sigmoid_acc(g);\n  out[i] = (dys[i] * us[i]) * (s * (1.0 + g * (1.0 - s)));'
      : '  out[i] = dys[i] * (g * sigmoid_acc(g));';
  be.dispatch(
    {
      kernel: 'siluMulGrad',
      key: `siluMulGrad:${part}`,
      uniforms: [['n', 'u32']],
      inputs: [
        { name: 'gs', type: 'f32' },
        { name: 'us', type: 'f32' },
        { name: 'dys', type: 'f32' },
      ],
      outputs: [{ name: 'out', type: 'f32' }],
      source: () => mainElementwise(`  let g = gs[i];\n${body}`, WGSL_MATH),
    },
    [gpu(gate), gpu(up), gpu(dy)],
    [out.dataId],
    [n],
    grid1D(n),
  );
  return out;
});

import { gpu, webgpuKernel } from '../kernel.js';
import { grid1D, mainElementwise } from '../program.js';
import { WGSL_MATH } from '../wgsl.js';

/** silu(gate)·up in one pass (SwiGLU), silu as the unary kernel computes it. */
export const siluMul = webgpuKernel('siluMul', (be, [gate, up]) => {
  const out = be.output(gate.shape, 'f32', 'siluMul');
  const n = out.dataId.size;
  if (n === 0) return out;
  be.dispatch(
    {
      kernel: 'siluMul',
      key: 'siluMul',
      uniforms: [['n', 'u32']],
      inputs: [
        { name: 'gs', type: 'f32' },
        { name: 'us', type: 'f32' },
      ],
      outputs: [{ name: 'out', type: 'f32' }],
      source: () => mainElementwise('  let g = gs[i];\n  out[i] = (g * sigmoid_acc(g)) * us[i];', WGSL_MATH),
    },
    [gpu(gate), gpu(up)],
    [out.dataId],
    [n],
    grid1D(n),
  );
  return out;
});

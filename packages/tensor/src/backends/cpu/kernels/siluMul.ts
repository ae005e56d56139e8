import * as m from '../../../math.js';
import { cpuKernel } from '../kernel.js';

/** fround(silu(gate)) · up in one pass (SwiGLU). */
export const siluMul = cpuKernel('siluMul', (be, [gate, up]) => {
  const gv = be.values(gate);
  const uv = be.values(up);
  const { out, values } = be.output(gate.shape, 'f32', false);
  for (let i = 0; i < gv.length; i++) {
    const g = gv[i];
    values[i] = Math.fround(g * m.sigmoid(g)) * uv[i];
  }
  return out;
});

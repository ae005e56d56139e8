import * as m from '../../../math.js';
import { cpuKernel } from '../kernel.js';
import { simdSiluMul } from '../simd.js';

/** fround(silu(gate)) · up in one pass (SwiGLU). */
export const siluMul = cpuKernel('siluMul', (be, [gate, up]) => {
  const gv = be.values(gate) as Float32Array;
  const uv = be.values(up) as Float32Array;
  const { out, values } = be.output(gate.shape, 'f32', false);
  // the SIMD kernel rounds exactly as the loop below: silu to f32, then an f32 product
  if (simdSiluMul(gv, uv, values as Float32Array)) return out;
  for (let i = 0; i < gv.length; i++) {
    const g = gv[i];
    values[i] = Math.fround(g * m.sigmoid(g)) * uv[i];
  }
  return out;
});

import * as m from '../../../math.js';
import { cpuKernel } from '../kernel.js';
import { simdBinary, simdSigmoid } from '../simd.js';

/** fround(silu(gate)) · up in one pass (SwiGLU). */
export const siluMul = cpuKernel('siluMul', (be, [gate, up]) => {
  const gv = be.values(gate) as Float32Array;
  const uv = be.values(up) as Float32Array;
  const { out, values } = be.output(gate.shape, 'f32', false);
  // the SIMD kernels round exactly as the loop below: silu to f32, then an f32 product
  const f32 = values as Float32Array;
  if (simdSigmoid(gv, f32, true) && simdBinary('mul', f32, f32, gate.shape, uv, up.shape, gate.shape)) return out;
  for (let i = 0; i < gv.length; i++) {
    const g = gv[i];
    values[i] = Math.fround(g * m.sigmoid(g)) * uv[i];
  }
  return out;
});

import * as m from '../../../math.js';
import { cpuKernel } from '../kernel.js';
import { simdBinary, simdSigmoid, simdSigmoidGrad } from '../simd.js';

/** One input's gradient of siluMul: gate: fround(dy·up)·silu′(gate); up: dy·fround(silu(gate)). */
export const siluMulGrad = cpuKernel('siluMulGrad', (be, [gate, up, dy], { part }) => {
  const gv = be.values(gate) as Float32Array;
  const uv = be.values(up) as Float32Array;
  const dv = be.values(dy) as Float32Array;
  const { out, values } = be.output(gate.shape, 'f32', false);
  const f32 = values as Float32Array;
  const shape = gate.shape;
  // SIMD paths, rounding exactly as the loops below (the f32 product first, then the f64 derivative or product)
  if (part === 'gate') {
    if (simdBinary('mul', f32, dv, dy.shape, uv, up.shape, shape) && simdSigmoidGrad(gv, f32, f32, true)) return out;
    for (let i = 0; i < gv.length; i++) {
      const g = gv[i];
      const s = m.sigmoid(g);
      values[i] = Math.fround(dv[i] * uv[i]) * (s * (1 + g * (1 - s)));
    }
  } else {
    if (simdSigmoid(gv, f32, true) && simdBinary('mul', f32, dv, dy.shape, f32, shape, shape)) return out;
    for (let i = 0; i < gv.length; i++) {
      const g = gv[i];
      values[i] = dv[i] * Math.fround(g * m.sigmoid(g));
    }
  }
  return out;
});

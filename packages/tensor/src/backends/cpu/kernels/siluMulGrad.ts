import * as m from '../../../math.js';
import { cpuKernel } from '../kernel.js';

/** One input's gradient of siluMul: gate: fround(dy·up)·silu′(gate); up: dy·fround(silu(gate)). */
export const siluMulGrad = cpuKernel('siluMulGrad', (be, [gate, up, dy], { part }) => {
  const gv = be.values(gate);
  const uv = be.values(up);
  const dv = be.values(dy);
  const { out, values } = be.output(gate.shape, 'f32', false);
  if (part === 'gate') {
    for (let i = 0; i < gv.length; i++) {
      const g = gv[i];
      const s = m.sigmoid(g);
      values[i] = Math.fround(dv[i] * uv[i]) * (s * (1 + g * (1 - s)));
    }
  } else {
    for (let i = 0; i < gv.length; i++) {
      const g = gv[i];
      values[i] = dv[i] * Math.fround(g * m.sigmoid(g));
    }
  }
  return out;
});

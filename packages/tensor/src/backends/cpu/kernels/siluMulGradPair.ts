import * as m from '../../../math.js';
import { cpuKernel } from '../kernel.js';
import { simdSiluMulGrad } from '../simd.js';

/**
 * Both gradients of siluMul from one sigmoid per element: d gate (the output) and d up (`extra`), rounded exactly
 * as the two `siluMulGrad` parts (kernels/siluMulGrad.ts).
 */
export const siluMulGradPair = cpuKernel('siluMulGradPair', (be, [gate, up, dy]) => {
  const gv = be.values(gate) as Float32Array;
  const uv = be.values(up) as Float32Array;
  const dv = be.values(dy) as Float32Array;
  const dg = be.output(gate.shape, 'f32', false);
  const du = be.output(gate.shape, 'f32', false);
  const dgv = dg.values as Float32Array;
  const duv = du.values as Float32Array;
  if (!simdSiluMulGrad(gv, uv, dv, dgv, duv)) {
    for (let i = 0; i < gv.length; i++) {
      const g = gv[i];
      const s = m.sigmoid(g);
      dgv[i] = Math.fround(dv[i] * uv[i]) * (s * (1 + g * (1 - s)));
      duv[i] = dv[i] * Math.fround(g * s);
    }
  }
  return { ...dg.out, extra: [du.out] };
});

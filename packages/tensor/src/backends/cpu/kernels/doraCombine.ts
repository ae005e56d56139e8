import { cpuKernel } from '../kernel.js';
import { simdDoraCombine } from '../simd.js';

/**
 * DoRA's combine: result + fround(fround(fround(scale − 1)·base) + fround(fround(scale·lora)·fround(s))) for inputs
 * [result, base, lora] of one shape [..., C] and scale [C], each step rounded to f32 as the composed ops store it.
 */
export const doraCombine = cpuKernel('doraCombine', (be, [result, base, lora, scale], { s }) => {
  const s32 = Math.fround(s);
  const rv = be.values(result) as Float32Array;
  const bv = be.values(base) as Float32Array;
  const lv = be.values(lora) as Float32Array;
  const sv = be.values(scale) as Float32Array;
  const { out, values } = be.output(lora.shape, 'f32', false);
  // the SIMD kernel: the same f32 operations in the same order
  if (simdDoraCombine(rv, bv, lv, sv, values, s32)) return out;
  const c = sv.length;
  for (let i = 0; i < values.length; i += c) {
    for (let j = 0; j < c; j++) {
      const sc = sv[j];
      const k = i + j;
      const t2 = Math.fround(Math.fround(sc - 1) * bv[k]);
      const t3 = Math.fround(sc * lv[k]);
      values[k] = rv[k] + Math.fround(t2 + Math.fround(t3 * s32));
    }
  }
  return out;
});

import { cpuKernel } from '../kernel.js';
import { simdBinary } from '../simd.js';

/** base + fround(x · scale) (or x · scale alone), with the scale rounded to f32 as a constant operand is. */
export const addScaled = cpuKernel('addScaled', (be, inputs, { scale }) => {
  const s = Math.fround(scale);
  const x = inputs[inputs.length - 1];
  const xv = be.values(x) as Float32Array;
  const { out, values } = be.output(x.shape, 'f32', false);
  const f32 = values as Float32Array;
  // SIMD: the f32 product, then the f32 sum — the rounding of the loops below
  const scaled = simdBinary('mul', f32, xv, x.shape, Float32Array.of(s), [], x.shape);
  if (inputs.length === 1) {
    if (scaled) return out;
    for (let i = 0; i < xv.length; i++) values[i] = xv[i] * s;
    return out;
  }
  const bv = be.values(inputs[0]) as Float32Array;
  if (scaled && simdBinary('add', f32, bv, inputs[0].shape, f32, x.shape, x.shape)) return out;
  for (let i = 0; i < xv.length; i++) values[i] = bv[i] + Math.fround(xv[i] * s);
  return out;
});

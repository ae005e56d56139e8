import { cpuKernel } from '../kernel.js';

/** base + fround(x · scale) (or x · scale alone), with the scale rounded to f32 as a constant operand is. */
export const addScaled = cpuKernel('addScaled', (be, inputs, { scale }) => {
  const s = Math.fround(scale);
  const x = inputs[inputs.length - 1];
  const xv = be.values(x);
  const { out, values } = be.output(x.shape, 'f32', false);
  if (inputs.length === 1) for (let i = 0; i < xv.length; i++) values[i] = xv[i] * s;
  else {
    const bv = be.values(inputs[0]);
    for (let i = 0; i < xv.length; i++) values[i] = bv[i] + Math.fround(xv[i] * s);
  }
  return out;
});

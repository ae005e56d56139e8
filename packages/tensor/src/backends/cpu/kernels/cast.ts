import { cpuKernel } from '../kernel.js';

export const cast = cpuKernel('cast', (be, [x], { dtype }) => {
  const xv = be.values(x);
  const { out, values } = be.output(x.shape, dtype);
  if (dtype === 'bool') for (let i = 0; i < xv.length; i++) values[i] = xv[i] !== 0 ? 1 : 0;
  else if (dtype === 'i32') for (let i = 0; i < xv.length; i++) values[i] = Math.trunc(xv[i]);
  else values.set(xv);
  return out;
});

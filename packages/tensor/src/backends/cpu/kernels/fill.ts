import { cpuKernel } from '../kernel.js';

export const fill = cpuKernel('fill', (be, _inputs, { shape, dtype, value }) => {
  const { out, values } = be.output(shape, dtype);
  if (value !== 0) values.fill(dtype === 'bool' ? (value ? 1 : 0) : value);
  return out;
});

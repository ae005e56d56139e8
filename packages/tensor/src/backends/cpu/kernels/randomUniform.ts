import { uniformAt } from '../../../random.js';
import { cpuKernel } from '../kernel.js';

export const randomUniform = cpuKernel('randomUniform', (be, _inputs, { shape, key, counter }) => {
  const { out, values } = be.output(shape, 'f32');
  for (let i = 0; i < values.length; i++) values[i] = uniformAt(key, counter + i);
  return out;
});

import { uniformAt } from '../../../random.js';
import { cpuKernel } from '../kernel.js';

export const dropout = cpuKernel('dropout', (be, [x], { p, key, counter }) => {
  const xv = be.values(x);
  const { out, values } = be.output(x.shape, 'f32');
  const p32 = Math.fround(p);
  const scale = Math.fround(1 / (1 - p));
  for (let i = 0; i < xv.length; i++) values[i] = uniformAt(key, counter + i) >= p32 ? xv[i] * scale : 0;
  return out;
});

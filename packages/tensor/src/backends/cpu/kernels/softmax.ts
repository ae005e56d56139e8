import { cpuKernel } from '../kernel.js';

export const softmax = cpuKernel('softmax', (be, [x], { log }) => {
  const xv = be.values(x);
  const { out, values } = be.output(x.shape, 'f32');
  const c = x.shape[x.shape.length - 1] ?? 1;
  const rows = c === 0 ? 0 : xv.length / c;
  for (let r = 0; r < rows; r++) {
    const o = r * c;
    let mx = -Infinity;
    for (let i = 0; i < c; i++) mx = Math.max(mx, xv[o + i]);
    let s = 0;
    for (let i = 0; i < c; i++) s += Math.exp(xv[o + i] - mx);
    if (log) {
      const lse = mx + Math.log(s);
      for (let i = 0; i < c; i++) values[o + i] = xv[o + i] - lse;
    } else {
      for (let i = 0; i < c; i++) values[o + i] = Math.exp(xv[o + i] - mx) / s;
    }
  }
  return out;
});

import { cpuKernel } from '../kernel.js';

export const softmaxGrad = cpuKernel('softmaxGrad', (be, [y, dy], { log }) => {
  const yv = be.values(y);
  const dv = be.values(dy);
  const { out, values } = be.output(y.shape, 'f32');
  const c = y.shape[y.shape.length - 1] ?? 1;
  const rows = c === 0 ? 0 : yv.length / c;
  for (let r = 0; r < rows; r++) {
    const o = r * c;
    let s = 0;
    if (log) {
      for (let i = 0; i < c; i++) s += dv[o + i];
      for (let i = 0; i < c; i++) values[o + i] = dv[o + i] - Math.exp(yv[o + i]) * s;
    } else {
      for (let i = 0; i < c; i++) s += yv[o + i] * dv[o + i];
      for (let i = 0; i < c; i++) values[o + i] = yv[o + i] * (dv[o + i] - s);
    }
  }
  return out;
});

import { cpuKernel } from '../kernel.js';

const f = Math.fround;

export const adamw = cpuKernel('adamw', (be, inputs, a) => {
  const { out, values } = be.output(inputs[0].shape, 'f32', false);
  const n = values.length;
  if (a.part === 'm' || a.part === 'v') {
    const g = be.values(inputs[0]);
    const prev = inputs[1] ? be.values(inputs[1]) : null;
    const beta = a.part === 'm' ? a.beta1 : a.beta2;
    const b = f(beta);
    const c = f(1 - beta);
    // each product and the sum rounded to f32, as mul / square / add store them
    if (a.part === 'm') {
      if (prev) for (let i = 0; i < n; i++) values[i] = f(prev[i] * b) + f(g[i] * c);
      else for (let i = 0; i < n; i++) values[i] = g[i] * c;
    } else if (prev) for (let i = 0; i < n; i++) values[i] = f(prev[i] * b) + f(f(g[i] * g[i]) * c);
    else for (let i = 0; i < n; i++) values[i] = f(g[i] * g[i]) * c;
    return out;
  }
  const p = be.values(inputs[0]);
  const m = be.values(inputs[1]);
  const v = be.values(inputs[2]);
  const decay = f(1 - a.lr * a.weightDecay);
  const bc2 = f(Math.sqrt(1 - a.beta2 ** a.step));
  const eps = f(a.eps);
  const stepSize = f(a.lr / (1 - a.beta1 ** a.step));
  const wd = a.weightDecay !== 0;
  for (let i = 0; i < n; i++) {
    const decayed = wd ? f(p[i] * decay) : p[i];
    const denom = f(f(f(Math.sqrt(v[i])) / bc2) + eps);
    values[i] = decayed - f(f(m[i] / denom) * stepSize);
  }
  return out;
});

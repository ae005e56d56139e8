import { STEP_STATS } from '../../../kernels.js';
import { cpuKernel } from '../kernel.js';

const f = Math.fround;

export const adamw = cpuKernel('adamw', (be, inputs, a) => {
  const stats = a.controlled ? be.values(inputs[inputs.length - 1]) : null;
  const state = inputs.length - (stats ? 1 : 0) === 4;
  const p = be.values(inputs[0]);
  const gIn = be.values(inputs[1]);
  const mIn = state ? be.values(inputs[2]) : null;
  const vIn = state ? be.values(inputs[3]) : null;
  const shape = inputs[0].shape;
  const po = be.output(shape, 'f32', false);
  const mo = be.output(shape, 'f32', !state);
  const vo = be.output(shape, 'f32', !state);
  const out = { ...po.out, extra: [mo.out, vo.out] };
  const [pv, mv, vv] = [po.values, mo.values, vo.values];
  const n = pv.length;
  if (stats && stats[STEP_STATS.skip] !== 0) {
    // skipped on the device: the parameter and the moments stay (zeros for a first step's moments)
    pv.set(p);
    if (mIn && vIn) {
      mv.set(mIn);
      vv.set(vIn);
    }
    return out;
  }
  let g = gIn;
  if (stats && stats[STEP_STATS.clip] !== 0) {
    // clip_grad_norm_'s scaling, rounded as mul(grad, coef) stores it
    const coef = stats[STEP_STATS.coef];
    g = new Float32Array(n);
    for (let i = 0; i < n; i++) g[i] = gIn[i] * coef;
  }
  const b1 = f(a.beta1);
  const c1 = f(1 - a.beta1);
  const b2 = f(a.beta2);
  const c2 = f(1 - a.beta2);
  // each product and the sum rounded to f32, as mul / square / add store them
  if (mIn && vIn) {
    for (let i = 0; i < n; i++) {
      mv[i] = f(mIn[i] * b1) + f(g[i] * c1);
      vv[i] = f(vIn[i] * b2) + f(f(g[i] * g[i]) * c2);
    }
  } else {
    for (let i = 0; i < n; i++) {
      mv[i] = g[i] * c1;
      vv[i] = f(g[i] * g[i]) * c2;
    }
  }
  const decay = f(1 - a.lr * a.weightDecay);
  const bc2 = stats ? stats[STEP_STATS.bc2] : f(Math.sqrt(1 - a.beta2 ** a.step));
  const eps = f(a.eps);
  const stepSize = stats ? stats[STEP_STATS.stepSize] : f(a.lr / (1 - a.beta1 ** a.step));
  const wd = a.weightDecay !== 0;
  for (let i = 0; i < n; i++) {
    const decayed = wd ? f(p[i] * decay) : p[i];
    const denom = f(f(f(Math.sqrt(vv[i])) / bc2) + eps);
    pv[i] = decayed - f(f(mv[i] / denom) * stepSize);
  }
  return out;
});

import { cpuKernel } from '../kernel.js';

const f = Math.fround;

/**
 * Rotate-half rotary embedding over rows of D (h = D/2); the cos / sin tables repeat every `cos.size` elements.
 * Forward: out = x·cos + rot·sin with rot = (−x₂, x₁); inverse (the gradient): out = x·cos + (x₂·sin₂, −x₁·sin₁).
 */
export const rotary = cpuKernel('rotary', (be, [x, cos, sin], { inverse }) => {
  const xv = be.values(x);
  const cv = be.values(cos);
  const sv = be.values(sin);
  const { out, values } = be.output(x.shape, 'f32', false);
  const d = x.shape[x.shape.length - 1] ?? 1;
  const h = d / 2;
  const period = cv.length;
  const rows = d === 0 ? 0 : xv.length / d;
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    const t = o % period;
    if (inverse) {
      for (let i = 0; i < h; i++) values[o + i] = f(xv[o + i] * cv[t + i]) + f(xv[o + i + h] * sv[t + i + h]);
      for (let i = h; i < d; i++) values[o + i] = f(xv[o + i] * cv[t + i]) - f(xv[o + i - h] * sv[t + i - h]);
    } else {
      for (let i = 0; i < h; i++) values[o + i] = f(xv[o + i] * cv[t + i]) - f(xv[o + i + h] * sv[t + i]);
      for (let i = h; i < d; i++) values[o + i] = f(xv[o + i] * cv[t + i]) + f(xv[o + i - h] * sv[t + i]);
    }
  }
  return out;
});

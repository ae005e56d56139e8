import { gpu, webgpuKernel } from '../kernel.js';
import { grid1D, mainElementwise } from '../program.js';

/**
 * Rotate-half rotary embedding, one thread per element: x·cos + rot·sin with rot = (−x₂, x₁), or (inverse, the
 * gradient) x·cos + (x₂·sin₂, −x₁·sin₁). The tables repeat every `period` elements.
 */
export const rotary = webgpuKernel('rotary', (be, [x, cos, sin], { inverse }) => {
  const out = be.output(x.shape, 'f32', 'rotary');
  const n = out.dataId.size;
  if (n === 0) return out;
  const d = x.shape[x.shape.length - 1];
  const period = cos.shape.reduce((a, b) => a * b, 1);
  const body = inverse
    ? `  if (k < h) { out[i] = xs[i] * cs[j] + xs[i + h] * ss[j + h]; }
  else { out[i] = xs[i] * cs[j] - xs[i - h] * ss[j - h]; }`
    : `  if (k < h) { out[i] = xs[i] * cs[j] - xs[i + h] * ss[j]; }
  else { out[i] = xs[i] * cs[j] + xs[i - h] * ss[j]; }`;
  be.dispatch(
    {
      kernel: 'rotary',
      key: `rotary:${inverse ? 'inverse' : 'forward'}`,
      uniforms: [
        ['n', 'u32'],
        ['d', 'u32'],
        ['period', 'u32'],
      ],
      inputs: [
        { name: 'xs', type: 'f32' },
        { name: 'cs', type: 'f32' },
        { name: 'ss', type: 'f32' },
      ],
      outputs: [{ name: 'out', type: 'f32' }],
      source: () => mainElementwise(`  let k = i % u.d;\n  let h = u.d / 2u;\n  let j = i % u.period;\n${body}`),
    },
    [gpu(x), gpu(cos), gpu(sin)],
    [out.dataId],
    [n, d, period],
    grid1D(n),
  );
  return out;
});

import { gpu, webgpuKernel } from '../kernel.js';
import { grid1D, mainElementwise } from '../program.js';

/**
 * Rotate-half rotary embedding, one thread per output element: x·cos + rot·sin with rot = (−x₂, x₁), or (inverse,
 * the gradient) x·cos + (x₂·sin₂, −x₁·sin₁). Without heads the tables repeat every `period` elements; with heads the
 * thread reads its row from the other order of x [B, a, b, D] (out is [B, b, a, D]; tables [T, D]).
 */
export const rotary = webgpuKernel('rotary', (be, [x, cos, sin], { inverse, heads }) => {
  const xs = x.shape;
  const d = xs[xs.length - 1];
  const split = heads > 0;
  const out = be.output(split ? [xs[0], xs[2], xs[1], d] : xs, 'f32', 'rotary');
  const n = out.dataId.size;
  if (n === 0) return out;
  const period = cos.shape.reduce((p, q) => p * q, 1);
  // src: the element of x this output element rotates; j: its table index
  const locate = split
    ? `  let row = i / u.d;
  let ii = row % u.a;
  let jj = (row / u.a) % u.b;
  let nn = row / (u.a * u.b);
  let src = ((nn * u.a + ii) * u.b + jj) * u.d + k;
  let j = ${inverse ? 'jj' : 'ii'} * u.d + k;`
    : `  let src = i;
  let j = i % u.period;`;
  const body = inverse
    ? `  if (k < h) { out[i] = xs[src] * cs[j] + xs[src + h] * ss[j + h]; }
  else { out[i] = xs[src] * cs[j] - xs[src - h] * ss[j - h]; }`
    : `  if (k < h) { out[i] = xs[src] * cs[j] - xs[src + h] * ss[j]; }
  else { out[i] = xs[src] * cs[j] + xs[src - h] * ss[j]; }`;
  be.dispatch(
    {
      kernel: 'rotary',
      key: `rotary:${inverse ? 'inverse' : 'forward'}:${split ? 'heads' : 'same'}`,
      uniforms: [
        ['n', 'u32'],
        ['d', 'u32'],
        ['period', 'u32'],
        ['a', 'u32'],
        ['b', 'u32'],
      ],
      inputs: [
        { name: 'xs', type: 'f32' },
        { name: 'cs', type: 'f32' },
        { name: 'ss', type: 'f32' },
      ],
      outputs: [{ name: 'out', type: 'f32' }],
      source: () => mainElementwise(`  let k = i % u.d;\n  let h = u.d / 2u;\n${locate}\n${body}`),
    },
    [gpu(x), gpu(cos), gpu(sin)],
    [out.dataId],
    [n, d, period, split ? xs[1] : 1, split ? xs[2] : 1],
    grid1D(n),
  );
  return out;
});

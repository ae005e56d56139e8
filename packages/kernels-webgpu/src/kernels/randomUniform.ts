import { webgpuKernel } from '../kernel.js';
import { grid1D, mainElementwise } from '../program.js';

/**
 * random.ts's counter-based generator in u32 arithmetic, bit for bit: element i is
 * uniformAt(key, counter + i) = (mix32(mix32(mix32(lo ^ k0) + hi) ^ k1) >> 8) · 2^-24 with the 53-bit counter split
 * into lo/hi words (the carry of lo + i goes into hi). WGSL's u32 multiply wraps like Math.imul.
 */
export const MIX = /* wgsl */ `
fn mix32(x0: u32) -> u32 {
  var x = x0;
  x = x ^ (x >> 16u);
  x = x * 0x7feb352du;
  x = x ^ (x >> 15u);
  x = x * 0x846ca68bu;
  x = x ^ (x >> 16u);
  return x;
}`;

export const randomUniform = webgpuKernel('randomUniform', (be, _inputs, { shape, key, counter }) => {
  const out = be.output(shape, 'f32', 'randomUniform');
  const n = out.dataId.size;
  if (n === 0) return out;
  const lo = counter >>> 0;
  const hi = Math.floor(counter / 4294967296) >>> 0;
  be.dispatch(
    {
      kernel: 'randomUniform',
      key: 'randomUniform',
      uniforms: [
        ['n', 'u32'],
        ['clo', 'u32'],
        ['chi', 'u32'],
        ['k0', 'u32'],
        ['k1', 'u32'],
      ],
      inputs: [],
      outputs: [{ name: 'out', type: 'f32' }],
      source: () =>
        mainElementwise(
          `  let lo = u.clo + i;
  let hi = u.chi + select(0u, 1u, lo < u.clo);
  let bits = mix32((mix32(mix32(lo ^ u.k0) + hi)) ^ u.k1);
  out[i] = f32(bits >> 8u) * 5.9604644775390625e-8;`,
          MIX,
        ),
    },
    [],
    [out.dataId],
    [n, lo, hi, key[0] >>> 0, key[1] >>> 0],
    grid1D(n),
  );
  return out;
});

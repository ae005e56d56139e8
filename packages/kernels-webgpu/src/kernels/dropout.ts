import { gpu, webgpuKernel } from '../kernel.js';
import { grid1D, mainElementwise } from '../program.js';
import { MIX } from './randomUniform.js';

/** Inverted dropout in one pass, with randomUniform's generator (bit for bit): u ≥ p keeps x·1/(1−p). */
export const dropout = webgpuKernel('dropout', (be, [x], { p, key, counter }) => {
  const out = be.output(x.shape, 'f32', 'dropout');
  const n = out.dataId.size;
  if (n === 0) return out;
  const lo = counter >>> 0;
  const hi = Math.floor(counter / 4294967296) >>> 0;
  be.dispatch(
    {
      kernel: 'dropout',
      key: 'dropout',
      uniforms: [
        ['n', 'u32'],
        ['clo', 'u32'],
        ['chi', 'u32'],
        ['k0', 'u32'],
        ['k1', 'u32'],
        ['p', 'f32'],
        ['scale', 'f32'],
      ],
      inputs: [{ name: 'xs', type: 'f32' }],
      outputs: [{ name: 'out', type: 'f32' }],
      source: () =>
        mainElementwise(
          `  let lo = u.clo + i;
  let hi = u.chi + select(0u, 1u, lo < u.clo);
  let bits = mix32((mix32(mix32(lo ^ u.k0) + hi)) ^ u.k1);
  let r = f32(bits >> 8u) * 5.9604644775390625e-8;
  out[i] = select(0.0, xs[i] * u.scale, r >= u.p);`,
          MIX,
        ),
    },
    [gpu(x)],
    [out.dataId],
    [n, lo, hi, key[0] >>> 0, key[1] >>> 0, p, 1 / (1 - p)],
    grid1D(n),
  );
  return out;
});

import { cpuKernel } from '../kernel.js';
import { simdDropout } from '../simd.js';

/** random.ts's mix32, inlined here: the generator is most of dropout's time. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

export const dropout = cpuKernel('dropout', (be, [x], { p, key, counter }) => {
  const xv = be.values(x);
  const { out, values } = be.output(x.shape, 'f32', false);
  const p32 = Math.fround(p);
  const scale = Math.fround(1 / (1 - p));
  const k0 = key[0];
  const k1 = key[1];
  // uniformAt(key, counter + i), bit for bit: the counter's low word wraps into the high word
  let lo = counter >>> 0;
  let hi = Math.floor(counter / 4294967296) >>> 0;
  if (simdDropout(xv, values, lo, hi, k0, k1, p32, scale)) return out; // the same bits, 4 lanes at a time
  for (let i = 0; i < xv.length; i++) {
    const u = (mix32((mix32((mix32((lo ^ k0) >>> 0) + hi) >>> 0) ^ k1) >>> 0) >>> 8) * 5.9604644775390625e-8;
    values[i] = u >= p32 ? xv[i] * scale : 0;
    lo = (lo + 1) >>> 0;
    if (lo === 0) hi = (hi + 1) >>> 0;
  }
  return out;
});

import { setCpuSimdElementwise, type Tensor } from '../../src/index.js';

/** Bits of each value, NaN as one token (NaN payloads are not part of the kernels' contract). */
export const bits = (v: ArrayLike<number>): (number | 'NaN')[] => {
  const f = Float32Array.from(v);
  const u = new Uint32Array(f.buffer);
  return Array.from(f, (x, i) => (Number.isNaN(x) ? 'NaN' : u[i]));
};

/** n values in (−spread/2, spread/2) from a seeded LCG (the same values for the same seed). */
export function randomValues(n: number, seed: number, spread = 8): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s >>> 8) / 2 ** 24 - 0.5) * spread;
  }
  return out;
}

/** f() with the SIMD kernels on or off (off: the JavaScript loops). */
export function withSimd(on: boolean, f: () => Tensor): Float32Array {
  setCpuSimdElementwise(on);
  try {
    return f().dataSync() as Float32Array;
  } finally {
    setCpuSimdElementwise(true);
  }
}

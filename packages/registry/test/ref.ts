/**
 * Float64 reference helpers for the tests: plain JavaScript arrays, row-major, no @peftjs code involved.
 */
import type { Tensor } from '@peftjs/tensor';
import { expect } from 'vitest';

/** A tensor's values as float64 numbers (row-major). */
export function f64(t: Tensor): number[] {
  return Array.from(t.dataSync(), Number);
}

/** [m, k] × [k, n] → [m, n], in float64. */
export function matmul(a: number[], b: number[], m: number, k: number, n: number): number[] {
  const out = new Array<number>(m * n).fill(0);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p];
      for (let j = 0; j < n; j++) out[i * n + j] += av * b[p * n + j];
    }
  }
  return out;
}

/** [r, c] → [c, r]. */
export function transpose(a: number[], r: number, c: number): number[] {
  const out = new Array<number>(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = a[i * c + j];
  return out;
}

/** x·Wᵀ + b for x [m, in], W [out, in], b [out] (PyTorch Linear). */
export function linear(x: number[], w: number[], b: number[] | null, m: number, inF: number, outF: number): number[] {
  const y = matmul(x, transpose(w, outF, inF), m, inF, outF);
  if (b) for (let i = 0; i < m; i++) for (let j = 0; j < outF; j++) y[i * outF + j] += b[j];
  return y;
}

export const addArr = (a: number[], b: number[]): number[] => a.map((v, i) => v + b[i]);
export const scaleArr = (a: number[], s: number): number[] => a.map((v) => v * s);

/** max |ours − ref| / max(max |ref|, 1e-6): the golden-vector tolerance measure. */
export function relErr(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  expect(ours.length).toBe(ref.length);
  let maxRef = 1e-6;
  for (let i = 0; i < ref.length; i++) maxRef = Math.max(maxRef, Math.abs(ref[i]));
  let maxDiff = 0;
  for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours[i] - ref[i]));
  return maxDiff / maxRef;
}

/** Assert `ours` equals the float64 reference within `tol` (relative to the reference's largest magnitude). */
export function expectClose(ours: Tensor | ArrayLike<number>, ref: ArrayLike<number>, tol = 1e-5): void {
  const o = 'dataSync' in (ours as object) ? f64(ours as Tensor) : Array.from(ours as ArrayLike<number>);
  const e = relErr(o, ref);
  expect(e, `relative error ${e} > ${tol}`).toBeLessThanOrEqual(tol);
}

/** A deterministic pseudo-random float64 array in [-1, 1) (independent of @peftjs/tensor's generator). */
export function rand(n: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
  return out;
}

/**
 * Float64 reference helpers for the tests: plain JavaScript arrays, row-major, no @peftjs code involved.
 */
import { relMaxError, type Tensor } from '@peftjs/tensor';
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
  return relMaxError(ours, ref);
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

/** Float64 LoRA reference for a Linear-like layer, from x [m, in]: base + s·(x·Aᵀ)·Bᵀ (+ s·bB with lora_bias). */
export function loraRef(o: {
  x: number[];
  m: number;
  inF: number;
  outF: number;
  r: number;
  /** The base output [m, out] (x·Wᵀ + b, or x·W + b for Conv1D). */
  base: number[];
  A: number[];
  B: number[];
  s: number;
  loraBias?: number[];
}): number[] {
  const xa = matmul(o.x, transpose(o.A, o.r, o.inF), o.m, o.inF, o.r);
  const d = matmul(xa, transpose(o.B, o.outF, o.r), o.m, o.r, o.outF);
  return o.base.map((v, i) => v + o.s * (d[i] + (o.loraBias ? o.loraBias[i % o.outF] : 0)));
}

/** x·W + b for GPT-2 Conv1D (W [in, out]). */
export function conv1d(x: number[], w: number[], b: number[] | null, m: number, inF: number, outF: number): number[] {
  const y = matmul(x, w, m, inF, outF);
  if (b) for (let i = 0; i < m; i++) for (let j = 0; j < outF; j++) y[i * outF + j] += b[j];
  return y;
}

/** Float64 LoRA Embedding: y[t] = W[id] + s·Σ_k A[k, id]·B[:, k]  (W [num, dim], A [r, num], B [dim, r]). */
export function loraEmbeddingRef(
  ids: number[],
  W: number[],
  A: number[],
  B: number[],
  num: number,
  dim: number,
  r: number,
  s: number,
): number[] {
  const out: number[] = [];
  for (const id of ids) {
    for (let d = 0; d < dim; d++) {
      let acc = 0;
      for (let k = 0; k < r; k++) acc += A[k * num + id] * B[d * r + k];
      out.push(W[id * dim + d] + s * acc);
    }
  }
  return out;
}

/** Central finite differences of a float64 function at `p` (each coordinate perturbed by ±h). */
export function finiteDiff(f: (p: number[]) => number, p: number[], h = 1e-6): number[] {
  return p.map((_, i) => {
    const a = p.slice();
    const b = p.slice();
    a[i] += h;
    b[i] -= h;
    return (f(a) - f(b)) / (2 * h);
  });
}

export const dot = (a: number[], b: number[]): number => a.reduce((acc, v, i) => acc + v * b[i], 0);

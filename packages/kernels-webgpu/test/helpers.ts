import type { Backend, DType, Tensor, TypedArray } from '@peftjs/tensor';
import * as T from '@peftjs/tensor';
import { expect } from 'vitest';

/** mulberry32: deterministic test data. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomValues(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = lo + (hi - lo) * r();
  return v;
}

export function randomInts(n: number, seed: number, lo: number, hi: number): Int32Array {
  const r = rng(seed);
  const v = new Int32Array(n);
  for (let i = 0; i < n; i++) v[i] = lo + Math.floor(r() * (hi - lo));
  return v;
}

export interface HostTensor {
  values: TypedArray;
  shape: number[];
  dtype?: DType;
}

/** Upload the same host values to a backend. */
export function put(be: Backend, h: HostTensor): Tensor {
  return T.tensor(h.values, h.shape, { backend: be, dtype: h.dtype });
}

/** max|a − b| / max(max|b|, floor), with NaN matching NaN. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  expect(a.length).toBe(b.length);
  let err = 0;
  let scale = floor;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (Number.isNaN(y) || Number.isNaN(x)) {
      if (Number.isNaN(x) !== Number.isNaN(y)) return Number.POSITIVE_INFINITY;
      continue;
    }
    if (!Number.isFinite(y) || !Number.isFinite(x)) {
      if (x !== y) return Number.POSITIVE_INFINITY;
      continue;
    }
    err = Math.max(err, Math.abs(x - y));
    scale = Math.max(scale, Math.abs(y));
  }
  return err / scale;
}

/**
 * Run `op` on the CPU and on `gpu` with the same inputs and compare the outputs: exactly (tol = 0, bit patterns of
 * integers and bools, NaN = NaN) or within a relative error.
 */
export async function sameAsCpu(
  gpu: Backend,
  inputs: HostTensor[],
  op: (xs: Tensor[]) => Tensor,
  tol: number,
  label = '',
): Promise<{ got: TypedArray; want: TypedArray }> {
  const cpu = T.getBackend().name === 'cpu' ? T.getBackend() : await T.initBackend('cpu');
  const run = async (be: Backend) => {
    const xs = inputs.map((h) => put(be, h));
    const y = T.tidy(() => op(xs));
    const data = await y.data();
    const shape = [...y.shape];
    const dtype = y.dtype;
    y.dispose();
    T.dispose(xs);
    return { data, shape, dtype };
  };
  const want = await run(cpu);
  const got = await run(gpu);
  expect(got.shape, `${label} shape`).toEqual(want.shape);
  expect(got.dtype, `${label} dtype`).toBe(want.dtype);
  if (tol === 0) {
    expect(Array.from(got.data), `${label} values`).toEqual(Array.from(want.data));
  } else {
    const e = relError(got.data, want.data);
    expect(e, `${label} relative error`).toBeLessThanOrEqual(tol);
  }
  return { got: got.data, want: want.data };
}

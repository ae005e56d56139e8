import { keep, type Tensor, tensor } from '@peftjs/tensor';
import type { ParamRef } from '../../src/index.js';

/** A ParamRef over a free-standing tensor (no module), for optimizer tests. */
export function freeParam(
  name: string,
  values: number[],
  shape: number[] = [values.length],
): ParamRef & { grad(g: number[]): void } {
  let t = keep(tensor(values, shape, { requiresGrad: true }));
  return {
    name,
    get: () => t,
    set(n: Tensor) {
      if (n !== t) t.dispose();
      n.requiresGrad = true;
      t = keep(n);
    },
    grad(g: number[]) {
      t.grad?.dispose();
      t.grad = keep(tensor(g, t.shape));
    },
  };
}

/** Deterministic pseudo-random numbers in [-1, 1) (an LCG; independent of the library's generator). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

/** max |a − b| / max(1, |b|) */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}

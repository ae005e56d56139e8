/** Conformance cases of `topk` (kept apart from cases.ts; listed by opCases()). */
import * as ops from '../ops/index.js';
import type { Tensor } from '../tensor.js';
import type { OpCase } from './cases.js';
import { type Gen, gens } from './harness.js';
import type { Ref } from './reference.js';

/** float64 reference: per row, entries ordered NaN first, then by value descending, ties by index ascending. */
function refTopk(x: Ref, k: number): [Ref, Ref] {
  const n = x.shape[x.shape.length - 1];
  const rows = x.data.length / n;
  const shape = [...x.shape.slice(0, -1), k];
  const values = new Float64Array(rows * k);
  const indices = new Float64Array(rows * k);
  for (let r = 0; r < rows; r++) {
    const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => {
      const a = x.data[r * n + i];
      const b = x.data[r * n + j];
      const an = Number.isNaN(a);
      const bn = Number.isNaN(b);
      if (an !== bn) return an ? -1 : 1;
      if (!an && a !== b) return b - a;
      return i - j;
    });
    for (let j = 0; j < k; j++) {
      values[r * k + j] = x.data[r * n + order[j]];
      indices[r * k + j] = order[j];
    }
  }
  return [
    { shape, data: values },
    { shape: [...shape], data: indices },
  ];
}

const input = (shape: number[], gen: Gen, grad = false) => ({ shape, dtype: 'f32' as const, gen, grad });
const both = (k: number) => ({
  run: ([x]: Tensor[]) => {
    const { values, indices } = ops.topk(x, k);
    return [values, indices];
  },
  ref: ([x]: Ref[]) => refTopk(x, k),
  outDType: ['f32', 'i32'] as ('f32' | 'i32')[],
  grad: false,
});

export function topkCases(): OpCase[] {
  const N = Number.NaN;
  return [
    { name: 'topk/rows', class: 'exact', inputs: [input([3, 7], gens.distinct())], ...both(3) },
    { name: 'topk/rank3', class: 'exact', inputs: [input([2, 3, 16], gens.distinct())], ...both(2) },
    { name: 'topk/k-all', class: 'exact', inputs: [input([2, 5], gens.distinct())], ...both(5) },
    { name: 'topk/k1-vector', class: 'exact', inputs: [input([9], gens.distinct())], ...both(1) },
    { name: 'topk/wide', class: 'exact', inputs: [input([4, 300], gens.distinct(0.01))], ...both(4) },
    {
      name: 'topk/ties-by-index',
      class: 'exact',
      inputs: [input([3, 6], gens.values([1, 5, 5, 0, 5, 2, 2, 2, 2, 2, 2, 2, -1, -3, -1, -1, -2, -3]))],
      ...both(3),
    },
    {
      // NaN ranks above every number (PyTorch), several NaNs by index
      name: 'topk/nan',
      class: 'exact',
      inputs: [input([2, 5], gens.values([1, N, 5, N, 3, -Infinity, 2, Infinity, 0, N]))],
      ...both(3),
    },
    {
      // −∞ entries (VB-LoRA logits loaded from a top-k-only file) rank last
      name: 'topk/neg-inf',
      class: 'exact',
      inputs: [input([2, 4], gens.values([-Infinity, -0.5, -Infinity, -1.5, -Infinity, -Infinity, -Infinity, 0]))],
      ...both(2),
    },
    {
      name: 'topk/grad',
      class: 'elementwise',
      inputs: [input([3, 2, 8], gens.distinct(), true)],
      run: ([x]) => ops.topk(x, 3).values,
      ref: ([x]) => refTopk(x, 3)[0],
    },
  ];
}

import { describe, expect, it } from 'vitest';
import { causalMask, Generator, maskedSoftmax, mul, randn, softmax, type Tensor, tensor, where } from '../src/index.js';

// The CPU maskedSoftmax reads only the causally visible prefix of each row; every row must still round exactly like
// the composition it fuses (scale, causal mask, padding mask, softmax), including rows with no visible key, NaN or
// infinite scores, and more queries than keys.
const LOWEST = -3.4028234663852886e38;
const bits = (t: { dataSync(): ArrayLike<number> }) => Array.from(t.dataSync());

/**
 * Every key of every row, the plain way: scores x·scale (f32), hidden ones the lowest f32; the float64 max and
 * exponentials, hidden keys' exponentials taken as 0 when some key is visible and the max is not NaN (they are
 * exactly 0 then, or the composition's NaN); and the gradient y·(dy − Σ y·dy) · scale on visible keys.
 */
function reference(
  xv: Float32Array,
  [h, tq, tk]: [number, number, number],
  mv: Uint8Array | null,
  scale: number,
  causal: boolean,
) {
  const rows = xv.length / tk;
  const s32 = Math.fround(scale);
  const out = new Float32Array(xv.length);
  const visible = (r: number, j: number) => {
    const i = r % tq;
    const batch = Math.floor(r / (h * tq));
    return (!causal || j <= i + tk - tq) && (mv === null || mv[batch * tk + j] !== 0);
  };
  for (let r = 0; r < rows; r++) {
    const sc = Array.from({ length: tk }, (_, j) => (visible(r, j) ? Math.fround(xv[r * tk + j] * s32) : LOWEST));
    const mx = sc.reduce((a, b) => Math.max(a, b), -Infinity);
    const anyVisible = sc.some((_, j) => visible(r, j));
    const e = sc.map((v, j) => (anyVisible && !Number.isNaN(mx) && !visible(r, j) ? 0 : Math.exp(v - mx)));
    const sum = e.reduce((a, b) => a + b, 0);
    for (let j = 0; j < tk; j++) out[r * tk + j] = e[j] / sum;
  }
  const grad = (y: Float32Array, dy: Float32Array) => {
    const g = new Float32Array(y.length);
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      for (let j = 0; j < tk; j++) sum += y[r * tk + j] * dy[r * tk + j];
      for (let j = 0; j < tk; j++)
        g[r * tk + j] = visible(r, j) ? Math.fround(y[r * tk + j] * (dy[r * tk + j] - sum)) * s32 : 0;
    }
    return g;
  };
  return { out, grad };
}

describe('CPU maskedSoftmax: the composed ops bit for bit', () => {
  const shapes: [number, number, number, number][] = [
    [2, 3, 5, 7], // fewer queries than keys (every query sees a longer prefix)
    [2, 2, 7, 5], // more queries than keys: the first two queries see no key at all
    [1, 2, 6, 6],
  ];
  for (const [b, h, tq, tk] of shapes) {
    for (const causal of [true, false]) {
      for (const withMask of [true, false]) {
        it(`[${b},${h},${tq},${tk}] causal=${causal} mask=${withMask}`, () => {
          const x = randn([b, h, tq, tk], 0, 3, { generator: new Generator(tq * 10 + tk) });
          const xv = Float32Array.from(x.dataSync());
          // awkward scores in a few rows: NaN, ±Infinity, a row of −Infinity
          const xs = tensor(xv, [b, h, tq, tk]);
          xs.requiresGrad = true;
          // padding: batch 0 hides key 1, batch 1 (if any) hides every key
          const mv = new Uint8Array(b * tk).fill(1);
          mv[1] = 0;
          if (b > 1) mv.fill(0, tk, 2 * tk);
          const m = withMask ? tensor(mv, [b, 1, 1, tk], { dtype: 'bool' }) : null;
          const w = randn([b, h, tq, tk], 0, 1, { generator: new Generator(5) });
          const fused = maskedSoftmax(xs, { scale: 0.37, causal, mask: m });
          mul(fused, w).sum().backward();
          const gFused = bits(xs.grad!);
          xs.zeroGrad();
          let scores = mul(xs, 0.37);
          if (causal) scores = where(causalMask(tq, tk), scores, LOWEST);
          if (m) scores = where(m, scores, LOWEST);
          const composed = softmax(scores);
          mul(composed, w).sum().backward();
          expect(bits(fused)).toEqual(bits(composed));
          expect(gFused).toEqual(bits(xs.grad!));
        });

        it(`[${b},${h},${tq},${tk}] causal=${causal} mask=${withMask}, NaN and infinite scores: the full-row reference`, () => {
          const xv = Float32Array.from(randn([b, h, tq, tk], 0, 3, { generator: new Generator(tq + tk) }).dataSync());
          xv[3] = Number.NaN;
          xv[tk + 1] = Number.POSITIVE_INFINITY;
          xv[2 * tk] = Number.NEGATIVE_INFINITY;
          for (let j = 0; j < tk; j++) xv[4 * tk + j] = Number.NEGATIVE_INFINITY;
          const mv = new Uint8Array(b * tk).fill(1);
          mv[2] = 0;
          if (b > 1) mv.fill(0, tk, 2 * tk);
          const m: Tensor | null = withMask ? tensor(mv, [b, 1, 1, tk], { dtype: 'bool' }) : null;
          const xs = tensor(xv, [b, h, tq, tk]);
          xs.requiresGrad = true;
          const w = randn([b, h, tq, tk], 0, 1, { generator: new Generator(6) });
          const y = maskedSoftmax(xs, { scale: 0.37, causal, mask: m });
          mul(y, w).sum().backward();
          const ref = reference(xv, [h, tq, tk], withMask ? mv : null, 0.37, causal);
          expect(bits(y)).toEqual(Array.from(ref.out));
          const g = ref.grad(Float32Array.from(y.dataSync()), Float32Array.from(w.dataSync()));
          expect(bits(xs.grad!)).toEqual(Array.from(g));
        });
      }
    }
  }
});

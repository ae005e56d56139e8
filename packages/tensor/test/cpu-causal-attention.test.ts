import { describe, expect, it } from 'vitest';
import {
  Generator,
  initBackend,
  maskedSoftmax,
  matmul,
  mul,
  observeKernels,
  randn,
  reshape,
  scaledDotProductAttention,
  type Tensor,
  tensor,
} from '../src/index.js';

// Causal attention on the CPU skips the hidden block of its products (matmulCausal). It must give the composition's
// bits (scores, masked softmax, probabilities · v) forward and backward, and agree with float64.

await initBackend('cpu');

/** Calls of each kernel while f runs. */
function counting<T>(f: () => T): [T, Map<string, number>] {
  const calls = new Map<string, number>();
  observeKernels((name) => calls.set(name, (calls.get(name) ?? 0) + 1));
  try {
    return [f(), calls];
  } finally {
    observeKernels(null);
  }
}

const bits = (v: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(v).buffer));

/** The plain composition: full products, the masked softmax, GQA as the grouped view. */
function composed(q: Tensor, k: Tensor, v: Tensor, scale: number, mask: Tensor | null): Tensor {
  const [b, h, tq, d] = q.shape;
  const [, hkv, tk] = k.shape;
  const g = h / hkv;
  const scores = reshape(matmul(reshape(q, [b, hkv, g * tq, d]), k, { transB: true }), [b, h, tq, tk]);
  const probs = maskedSoftmax(scores, { scale, causal: true, mask });
  return reshape(matmul(reshape(probs, [b, hkv, g * tq, tk]), v), [b, h, tq, v.shape[3]]);
}

function run(f: (q: Tensor, k: Tensor, v: Tensor) => Tensor, qv: Tensor, kv: Tensor, vv: Tensor, w: Tensor) {
  const [q, k, v] = [qv, kv, vv].map((t) => {
    const c = tensor(t.dataSync() as Float32Array, t.shape);
    c.requiresGrad = true;
    return c;
  });
  const y = f(q, k, v);
  mul(y, w).sum().backward();
  return [y, q.grad as Tensor, k.grad as Tensor, v.grad as Tensor].map((t) => t.dataSync() as Float32Array);
}

describe('causal attention skipping the hidden block (CPU)', () => {
  // [batch, heads, kv heads, queries, keys, head dim]
  const cases: [number, number, number, number, number, number][] = [
    [4, 4, 2, 64, 64, 32], // GQA, batched entries
    [2, 3, 3, 37, 37, 16], // no GQA, odd lengths
    [1, 2, 1, 20, 33, 8], // more keys than queries (a cache), one entry: the single-product path
    [2, 2, 2, 128, 128, 32],
    [1, 4, 2, 128, 128, 32], // two entries of 1M multiply-adds: each threaded over row tasks
  ];
  for (const [b, h, hkv, tq, tk, d] of cases) {
    it(`B ${b}, H ${h}/${hkv}, Tq ${tq}, Tk ${tk}, D ${d}: the composition's bits, forward and backward`, () => {
      const gen = new Generator(b * 1000 + tq);
      const q = randn([b, h, tq, d], 0, 1, { generator: gen });
      const k = randn([b, hkv, tk, d], 0, 1, { generator: gen });
      const v = randn([b, hkv, tk, d], 0, 1, { generator: gen });
      const w = randn([b, h, tq, d], 0, 1, { generator: gen });
      const scale = 1 / Math.sqrt(d);
      const keep = tensor(new Uint8Array(b * tk).fill(1), [b, 1, 1, tk], { dtype: 'bool' });
      const [fused, calls] = counting(() =>
        run((q, k, v) => scaledDotProductAttention(q, k, v, { causal: true, enableGqa: true, mask: keep }), q, k, v, w),
      );
      expect(calls.get('matmulCausal')).toBe(4); // scores, output; dP, dQ
      const plain = run((q, k, v) => composed(q, k, v, scale, null), q, k, v, w);
      for (let i = 0; i < 4; i++) expect(bits(fused[i]), ['y', 'dq', 'dk', 'dv'][i]).toEqual(bits(plain[i]));
      // float64 forward reference
      const [qa, ka, va] = [q, k, v].map((t) => t.dataSync());
      const g = h / hkv;
      let err = 0;
      for (let bi = 0; bi < b; bi++)
        for (let hi = 0; hi < h; hi++)
          for (let i = 0; i < tq; i++) {
            const kvh = Math.floor(hi / g);
            const last = i + tk - tq;
            const s: number[] = [];
            for (let j = 0; j <= last; j++) {
              let dot = 0;
              for (let c = 0; c < d; c++)
                dot += qa[((bi * h + hi) * tq + i) * d + c] * ka[((bi * hkv + kvh) * tk + j) * d + c];
              s.push(dot * scale);
            }
            const mx = Math.max(...s);
            const e = s.map((x) => Math.exp(x - mx));
            const z = e.reduce((p, x) => p + x, 0);
            for (let c = 0; c < d; c++) {
              let o = 0;
              for (let j = 0; j <= last; j++) o += (e[j] / z) * va[((bi * hkv + kvh) * tk + j) * d + c];
              err = Math.max(err, Math.abs(fused[0][((bi * h + hi) * tq + i) * d + c] - o));
            }
          }
      expect(err).toBeLessThan(1e-5);
    });
  }

  it("a padding mask that hides whole rows (left padding): still the composition's bits", () => {
    const gen = new Generator(3);
    const [b, h, t, d] = [2, 2, 16, 8];
    const q = randn([b, h, t, d], 0, 1, { generator: gen });
    const k = randn([b, h, t, d], 0, 1, { generator: gen });
    const v = randn([b, h, t, d], 0, 1, { generator: gen });
    const w = randn([b, h, t, d], 0, 1, { generator: gen });
    const m = new Uint8Array(b * t).fill(1);
    m.fill(0, 0, 5); // left padding of the first sequence: its first five queries see no key
    const mask = tensor(m, [b, 1, 1, t], { dtype: 'bool' });
    const [fused, calls] = counting(() =>
      run((q, k, v) => scaledDotProductAttention(q, k, v, { causal: true, mask }), q, k, v, w),
    );
    expect(calls.get('matmulCausal')).toBe(4);
    const plain = run((q, k, v) => composed(q, k, v, 1 / Math.sqrt(d), mask), q, k, v, w);
    for (let i = 0; i < 4; i++) expect(bits(fused[i])).toEqual(bits(plain[i]));
  });
});

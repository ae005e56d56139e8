import { afterEach, describe, expect, it } from 'vitest';
import {
  add,
  dropout,
  Generator,
  initBackend,
  maskedSoftmax,
  mul,
  setCpuSimdElementwise,
  silu,
  siluMul,
  permute,
  sum,
  type Tensor,
  tensor,
} from '../src/index.js';
import { gemmThreadStats } from '../src/backends/cpu/gemm-wasm.js';
import { simdCalls } from '../src/backends/cpu/simd.js';
import { expNeg } from '../src/math.js';
import { bits, randomValues, withSimd } from './helpers/simd-values.js';

// Large elementwise jobs are split into tasks that the GEMM's helper threads share (elementwise.wat's run_task). A
// split must never change a bit: every case is compared with the JavaScript loops, and the softmax kernels also with
// an independent float64 reference.

await initBackend('cpu');

afterEach(() => setCpuSimdElementwise(true));

/** Softmax over the visible keys in float64: an independent reference for maskedSoftmax (no mask). */
function softmaxReference(x: Float32Array, c: number, tq: number, causal: boolean, scale: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / c; r++) {
    const last = causal ? Math.min((r % tq) + c - tq, c - 1) : c - 1;
    if (last < 0) {
      out.fill(1 / c, r * c, (r + 1) * c); // every key hidden: all scores are the lowest f32, a uniform row
      continue;
    }
    let mx = -Infinity;
    for (let j = 0; j <= last; j++) mx = Math.max(mx, Math.fround(x[r * c + j] * Math.fround(scale)));
    let s = 0;
    for (let j = 0; j <= last; j++) s += Math.exp(Math.fround(x[r * c + j] * Math.fround(scale)) - mx);
    for (let j = 0; j <= last; j++) out[r * c + j] = Math.exp(Math.fround(x[r * c + j] * Math.fround(scale)) - mx) / s;
  }
  return out;
}

describe('threaded elementwise jobs (CPU)', () => {
  it('large jobs are published to the helper threads and give the bits of the JavaScript loops', async () => {
    const n = 1 << 17;
    const a = tensor(randomValues(n, 1), [n]);
    const b = tensor(randomValues(n, 2), [n]);
    const rows = tensor(randomValues(n, 3), [256, 512]);
    const col = tensor(randomValues(512, 4), [512]);
    const gen = new Generator(7);
    const cases: [string, () => Tensor][] = [
      ['add', () => add(a, b)],
      ['mul row broadcast', () => mul(rows, col)],
      ['silu', () => silu(a)],
      ['siluMul', () => siluMul(a, b)],
      [
        'dropout',
        () => {
          gen.setState({ counter: 2 ** 32 - 70_000 }); // the counter's low word wraps inside a task
          return dropout(a, 0.3, { generator: gen });
        },
      ],
    ];
    const before = gemmThreadStats();
    // helpers start asynchronously: until one is up the calling thread runs every task itself, with the same bits
    const deadline = Date.now() + 20_000;
    do {
      for (const [name, f] of cases) expect(bits(withSimd(true, f)), name).toEqual(bits(withSimd(false, f)));
      await new Promise((r) => setTimeout(r, 20));
    } while (gemmThreadStats().helperTasks === before.helperTasks && Date.now() < deadline);
    expect(gemmThreadStats().jobs).toBeGreaterThan(before.jobs);
    expect(gemmThreadStats().helperTasks).toBeGreaterThan(before.helperTasks);
    for (const [name, f] of cases) expect(bits(withSimd(true, f)), name).toEqual(bits(withSimd(false, f)));
  });

  // [batch..., tq, c, causal]: causal squares, more keys than queries (a KV cache), odd lengths, one key
  const shapes: [number[], boolean][] = [
    [[4, 3, 64, 64], true],
    [[2, 5, 17, 33], true],
    [[3, 2, 19, 19], false],
    [[2, 7, 130], false],
    [[1, 2048, 1], true],
    [[8, 4, 128, 128], true],
  ];
  for (const [shape, causal] of shapes) {
    it(`maskedSoftmax ${shape.join('×')}${causal ? ' causal' : ''}: the JavaScript bits, float64 within 1e-6`, () => {
      const size = shape.reduce((p, d) => p * d, 1);
      const c = shape[shape.length - 1];
      const tq = shape.length >= 2 ? shape[shape.length - 2] : 1;
      const xv = randomValues(size, size, 20);
      const x = tensor(xv, shape);
      const scale = 0.17677669529663687;
      const calls = simdCalls.softmax;
      const fast = withSimd(true, () => maskedSoftmax(x, { scale, causal }));
      expect(simdCalls.softmax - calls).toBe(size >= 1024 && (!causal || c >= tq) ? 1 : 0);
      expect(bits(fast)).toEqual(bits(withSimd(false, () => maskedSoftmax(x, { scale, causal }))));
      const ref = softmaxReference(xv, c, tq, causal, scale);
      let err = 0;
      for (let i = 0; i < size; i++) err = Math.max(err, Math.abs(fast[i] - ref[i]));
      expect(err).toBeLessThan(1e-6);
      // the gradient of Σ w·softmax against the JavaScript loop and float64 (−Σ_j w_j y_j + w_i) y_i · scale
      const w = tensor(randomValues(size, size + 1), shape);
      const gradOf = () => {
        const t = tensor(xv, shape);
        t.requiresGrad = true;
        mul(maskedSoftmax(t, { scale, causal }), w).sum().backward();
        return t.grad as Tensor;
      };
      const gFast = withSimd(true, gradOf);
      expect(bits(gFast)).toEqual(bits(withSimd(false, gradOf)));
      const wv = w.dataSync();
      let gErr = 0;
      for (let r = 0; r < size / c; r++) {
        let dot = 0;
        for (let j = 0; j < c; j++) dot += ref[r * c + j] * wv[r * c + j];
        for (let j = 0; j < c; j++) {
          const g = ref[r * c + j] * (wv[r * c + j] - dot) * scale;
          gErr = Math.max(gErr, Math.abs(gFast[r * c + j] - g));
        }
      }
      expect(gErr).toBeLessThan(1e-5);
    });
  }

  it('maskedSoftmax with a mask that hides nothing (a batch without padding) takes the SIMD kernel, same bits', () => {
    const shape = [2, 3, 32, 32];
    const x = tensor(randomValues(6144, 11), shape);
    const keep = tensor(new Uint8Array(64).fill(1), [2, 1, 1, 32], { dtype: 'bool' });
    const calls = simdCalls.softmax;
    const fast = withSimd(true, () => maskedSoftmax(x, { scale: 0.3, causal: true, mask: keep }));
    expect(simdCalls.softmax - calls).toBe(1);
    expect(bits(fast)).toEqual(bits(withSimd(false, () => maskedSoftmax(x, { scale: 0.3, causal: true, mask: keep }))));
    expect(bits(fast)).toEqual(bits(withSimd(false, () => maskedSoftmax(x, { scale: 0.3, causal: true }))));
  });

  it("expNeg (the sigmoids' exp) is exp within 3 float64 ulps and rounds to f32 as Math.exp does", () => {
    let worst = 0;
    let differ = 0;
    let s = 7;
    for (let i = 0; i < 200_000; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const x = -(s / 2 ** 32) * (i % 3 === 0 ? 708 : i % 3 === 1 ? 30 : 1e-3);
      const a = expNeg(x);
      const b = Math.exp(x);
      worst = Math.max(worst, Math.abs(a - b) / b);
      if (Math.fround(a) !== Math.fround(b)) differ++;
    }
    expect(worst).toBeLessThan(6.7e-16); // three float64 ulps
    expect(differ).toBeLessThan(3); // a float64 difference of an ulp may straddle an f32 rounding boundary
    expect([expNeg(0), expNeg(-0), expNeg(-709), expNeg(Number.NEGATIVE_INFINITY)]).toEqual([1, 1, 0, 0]);
    expect(expNeg(Number.NaN)).toBeNaN();
    expect(expNeg(-1)).toBeCloseTo(Math.E ** -1, 15);
  });

  it('siluMul and both its gradients over every tail length: the JavaScript bits', () => {
    for (const n of [1024, 1025, 1026, 1027, 1028, 1029, 1030, 1031, 20_003]) {
      const gv = randomValues(n, n, 30);
      gv[3] = 0;
      gv[5] = -0;
      gv[6] = 800; // beyond exp's fast range: the scalar path inside the SIMD kernel
      const uv = randomValues(n, n + 1);
      const wv = tensor(randomValues(n, n + 2), [n]);
      const run = () => {
        const g = tensor(gv, [n]);
        const u = tensor(uv, [n]);
        g.requiresGrad = true;
        u.requiresGrad = true;
        const y = siluMul(g, u);
        mul(y, wv).sum().backward();
        return [y, g.grad as Tensor, u.grad as Tensor];
      };
      setCpuSimdElementwise(true);
      const fast = run().map((t) => t.dataSync());
      setCpuSimdElementwise(false);
      const slow = run().map((t) => t.dataSync());
      setCpuSimdElementwise(true);
      for (let i = 0; i < 3; i++) expect(bits(fast[i]), `n ${n}, output ${i}`).toEqual(bits(slow[i]));
    }
  });

  it('swapping the middle axes (attention heads) moves every row whole: the JavaScript bits', () => {
    const cases: [number[], number[]][] = [
      [
        [8, 4, 128, 32],
        [0, 2, 1, 3],
      ],
      [
        [3, 5, 17, 6],
        [0, 2, 1, 3],
      ],
      [
        [40, 9, 11],
        [1, 0, 2],
      ],
      [
        [2, 2, 3, 50, 8],
        [0, 1, 3, 2, 4],
      ],
    ];
    for (const [shape, perm] of cases) {
      const size = shape.reduce((p, d) => p * d, 1);
      const x = tensor(randomValues(size, size), shape);
      const calls = simdCalls.swapMiddle;
      const fast = withSimd(true, () => permute(x, perm));
      expect(simdCalls.swapMiddle - calls, shape.join('×')).toBe(1);
      expect(bits(fast)).toEqual(bits(withSimd(false, () => permute(x, perm))));
    }
  });

  // sums over leading / middle axes: the kernel sums each column in float64 in order, as the JavaScript loop does
  const sums: [number[], number[]][] = [
    [
      [8, 128, 344],
      [0, 1],
    ],
    [[1024, 131], [0]],
    [
      [2, 3, 40, 200],
      [1, 2],
    ],
    [[5, 300, 9], [1]],
    [[3, 50, 7], [1]],
  ];
  for (const [shape, axes] of sums) {
    it(`sum over axes ${axes} of ${shape.join('×')}: the JavaScript bits, float64 within 1e-5 relative`, () => {
      const size = shape.reduce((p, d) => p * d, 1);
      const xv = randomValues(size, size + 3);
      xv[7] = 3e38; // large magnitudes: the float64 accumulator must not round to f32 between terms
      xv[8] = 3e38;
      const x = tensor(xv, shape);
      const calls = simdCalls.sumMiddle;
      const fast = withSimd(true, () => sum(x, axes));
      if (shape[shape.length - 1] >= 8) expect(simdCalls.sumMiddle).toBeGreaterThan(calls);
      expect(bits(fast)).toEqual(bits(withSimd(false, () => sum(x, axes))));
      // float64 reference
      const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const ref = new Float64Array(kept.reduce((p, d) => p * d, 1));
      const strides = shape.map((_, i) => shape.slice(i + 1).reduce((p, d) => p * d, 1));
      const keptStrides = kept.map((_, i) => kept.slice(i + 1).reduce((p, d) => p * d, 1));
      for (let e = 0; e < size; e++) {
        let o = 0;
        for (let i = 0; i < shape.length; i++) {
          const c = Math.floor(e / strides[i]) % shape[i];
          if (!axes.includes(i)) o += c * keptStrides[i];
        }
        ref[o] += xv[e];
      }
      for (let i = 0; i < ref.length; i++)
        expect(Math.abs(fast[i] - ref[i])).toBeLessThanOrEqual(1e-5 * Math.abs(ref[i]) + 1e-4);
    });
  }

  it('maskedSoftmax rows with NaN or infinite scores fall back to the JavaScript loop (same bits)', () => {
    const shape = [2, 2, 32, 32];
    const xv = randomValues(4096, 9);
    xv[5 * 32 + 3] = Number.NaN;
    xv[40 * 32] = Number.POSITIVE_INFINITY;
    xv[70 * 32 + 1] = Number.NEGATIVE_INFINITY;
    const x = tensor(xv, shape);
    for (const causal of [true, false]) {
      const fast = withSimd(true, () => maskedSoftmax(x, { scale: 0.5, causal }));
      expect(bits(fast)).toEqual(bits(withSimd(false, () => maskedSoftmax(x, { scale: 0.5, causal }))));
    }
  });
});

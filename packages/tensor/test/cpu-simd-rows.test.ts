import { afterEach, describe, expect, it } from 'vitest';
import {
  applyRotary,
  applyRotaryHeads,
  crossEntropy,
  initBackend,
  layerNorm,
  mul,
  rmsNorm,
  setCpuSimdElementwise,
  type Tensor,
  tensor,
} from '../src/index.js';
import { cpuThreading, gemmThreadStats } from '../src/backends/cpu/gemm-wasm.js';
import { cpuSimdElementwiseAvailable, simdSigmoidMatchesMathExp } from '../src/backends/cpu/simd.js';
import { rmsCubesMatchPow, simdRowCalls } from '../src/backends/cpu/simd-rows.js';
import { bits, randomValues, withSimd } from './helpers/simd-values.js';

// The row kernels of simd-rows.ts (RMS norm, rotary, cross-entropy; forward and gradient) replace JavaScript loops:
// every case must give the loops' exact bits (setCpuSimdElementwise(false) runs the loops) and stay within a
// tolerance of an independent float64 reference. Large cases are split into tasks that helper threads may share.

await initBackend('cpu');
const simd = cpuSimdElementwiseAvailable();

/** The first index where a and b differ in their bits (any NaN equals any NaN), or null. */
function firstDiff(a: Float32Array, b: Float32Array): { i: number; a: number; b: number } | null {
  if (a.length !== b.length) return { i: -1, a: a.length, b: b.length };
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) {
    if (ua[i] !== ub[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return { i, a: a[i], b: b[i] };
  }
  return null;
}

/** The SIMD result of f, checked against the JavaScript loops bit for bit; `calls` must grow by `expected`. */
function sameBits(f: () => Tensor, calls: () => number, expected: number): Float32Array {
  const before = calls();
  const fast = withSimd(true, f);
  expect(calls() - before).toBe(simd ? expected : 0);
  expect(firstDiff(fast, withSimd(false, f))).toBeNull();
  return fast;
}

/** Largest |got − want| / (1 + |want|) over finite references. */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < want.length; i++) {
    if (!Number.isFinite(want[i])) continue;
    e = Math.max(e, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
  }
  return e;
}

/** ∂/∂x of Σ w·f(x): x's gradient with upstream gradient w. */
function gradOf(xv: Float32Array, shape: number[], wv: Float32Array, f: (x: Tensor) => Tensor): () => Tensor {
  return () => {
    const x = tensor(xv, shape);
    x.requiresGrad = true;
    const y = f(x);
    mul(y, tensor(wv, y.shape)).sum().backward();
    return x.grad as Tensor;
  };
}

afterEach(() => setCpuSimdElementwise(true));

describe('SIMD row kernels (CPU)', () => {
  it('large row jobs are shared with the helper threads and keep the JavaScript bits', async () => {
    const [rows, d] = [1024, 128];
    const xv = randomValues(rows * d, 31, 6);
    const gv = randomValues(rows * d, 32, 2);
    const wv = randomValues(d, 33, 3);
    const cv = randomValues(128 * 32, 34, 2);
    const sv = randomValues(128 * 32, 35, 2);
    const yv = Int32Array.from({ length: 1024 }, (_, r) => (r % 9 === 0 ? -100 : (r * 13) % 259));
    const labels = tensor(yv, [1024], { dtype: 'i32' });
    const lv = randomValues(1024 * 259, 36, 12);
    const cases: [string, () => Tensor][] = [
      ['rmsNorm', () => rmsNorm(tensor(xv, [8, 128, d]), tensor(wv, [d]))],
      ['rmsNormGrad', gradOf(xv, [8, 128, d], gv, (x) => rmsNorm(x, tensor(wv, [d])))],
      [
        'layerNormGrad',
        gradOf(xv, [8, 128, d], gv, (x) => layerNorm(x, tensor(wv, [d]), tensor(gv.subarray(0, d), [d]))),
      ],
      [
        'rotary heads',
        gradOf(xv, [8, 128, d], gv, (x) => applyRotaryHeads(x, 4, tensor(cv, [128, 32]), tensor(sv, [128, 32]))),
      ],
      [
        'crossEntropyGrad',
        gradOf(lv, [1024, 259], gv.subarray(0, 1024), (x) => crossEntropy(x, labels, { reduction: 'none' })),
      ],
    ];
    const before = gemmThreadStats();
    // helpers start asynchronously: until one is up the calling thread runs every task itself, with the same bits
    const deadline = Date.now() + 20_000;
    do {
      for (const [name, f] of cases) expect(firstDiff(withSimd(true, f), withSimd(false, f)), name).toBeNull();
      await new Promise((r) => setTimeout(r, 20));
    } while (simd && gemmThreadStats().helperTasks === before.helperTasks && Date.now() < deadline);
    if (simd && cpuThreading().threads > 1) expect(gemmThreadStats().helperTasks).toBeGreaterThan(before.helperTasks);
    for (const [name, f] of cases) expect(firstDiff(withSimd(true, f), withSimd(false, f)), name).toBeNull();
  });

  it('are available where the elementwise kernels are (rs³ rounds like pow)', () => {
    if (simd) expect(rmsCubesMatchPow()).toBe(true);
  });

  // [shape, weight]: rows below and above the thread threshold, D odd, not a multiple of 4, D = 1
  const normShapes: [number[], boolean][] = [
    [[8, 128, 128], true],
    [[8, 128, 128], false],
    [[40, 37], true],
    [[300, 129], false],
    [[2, 1030], true],
    [[1024, 1], false],
    [[5, 3, 67], true],
    [[3, 37], true], // under the size threshold: the JavaScript loop
  ];
  for (const [shape, weighted] of normShapes) {
    it(`rmsNorm ${shape.join('×')}${weighted ? ' with weight' : ''}: JavaScript bits, float64 within 1e-5`, () => {
      const size = shape.reduce((p, d) => p * d, 1);
      const d = shape[shape.length - 1];
      const eps = 1e-6;
      const xv = randomValues(size, size + d, 6);
      const wv = weighted ? randomValues(d, d, 3) : null;
      const w = wv ? tensor(wv, [d]) : null;
      const taken = size >= 1024 ? 1 : 0;
      const y = sameBits(
        () => rmsNorm(tensor(xv, shape), w, eps),
        () => simdRowCalls.rmsNorm,
        taken,
      );
      const gv = randomValues(size, size + 3, 2);
      const dx = sameBits(
        gradOf(xv, shape, gv, (x) => rmsNorm(x, w, eps)),
        () => simdRowCalls.rmsNormGrad,
        taken,
      );
      // float64: y = x·rs·w; dx = a·rs − x·rs³·(Σ a·x)/D with a = dy·w
      const yRef = new Float64Array(size);
      const dxRef = new Float64Array(size);
      for (let o = 0; o < size; o += d) {
        let s = 0;
        let dot = 0;
        for (let i = 0; i < d; i++) {
          s += xv[o + i] * xv[o + i];
          dot += gv[o + i] * (wv ? wv[i] : 1) * xv[o + i];
        }
        const rs = 1 / Math.sqrt(s / d + eps);
        for (let i = 0; i < d; i++) {
          const wi = wv ? wv[i] : 1;
          yRef[o + i] = xv[o + i] * rs * wi;
          dxRef[o + i] = gv[o + i] * wi * rs - (xv[o + i] * rs ** 3 * dot) / d;
        }
      }
      expect(relErr(y, yRef)).toBeLessThan(1e-5);
      expect(relErr(dx, dxRef)).toBeLessThan(1e-5);
    });
  }

  it('rmsNorm special rows: zeros (with eps 0 too), tiny, huge and overflowing squares, NaN and ±∞', () => {
    const d = 67;
    const rows = 24;
    const xv = randomValues(rows * d, 5, 4);
    const fill = (r: number, v: number) => xv.fill(v, r * d, (r + 1) * d);
    fill(0, 0);
    fill(1, 1e-20); // subnormal squares
    fill(2, 1e18); // squares near the top of f32
    fill(3, 3e19); // squares overflow: rs = 0
    xv[4 * d + 5] = Number.NaN;
    xv[5 * d + 1] = Number.POSITIVE_INFINITY;
    xv[6 * d + 2] = Number.NEGATIVE_INFINITY;
    xv[7 * d + 3] = -0;
    for (let i = 0; i < d; i++) xv[8 * d + i] = i % 2 ? 3e-39 : -2e-39; // subnormal inputs
    const wv = randomValues(d, 1, 3);
    wv[7] = 0;
    const gv = randomValues(rows * d, 6, 2);
    gv[9 * d + 4] = Number.NaN;
    gv[10 * d + 4] = 3e38;
    // the gradient of the 1e18 row (rs³ ≈ 1e-54) is left to the loop: the second run has a 1e10 row instead
    const moderate = xv.slice().fill(1e10, 2 * d, 3 * d);
    for (const eps of [1e-6, 0]) {
      for (const w of [tensor(wv, [d]), null]) {
        sameBits(
          () => rmsNorm(tensor(xv, [rows, d]), w, eps),
          () => simdRowCalls.rmsNorm,
          1,
        );
        sameBits(
          gradOf(xv, [rows, d], gv, (x) => rmsNorm(x, w, eps)),
          () => simdRowCalls.rmsNormGrad,
          0,
        );
        sameBits(
          gradOf(moderate, [rows, d], gv, (x) => rmsNorm(x, w, eps)),
          () => simdRowCalls.rmsNormGrad,
          1,
        );
      }
    }
  });

  it('rmsNormGrad: rows whose rs³ is below the f32 normals go to the JavaScript loop (same bits)', () => {
    const d = 64;
    const xv = randomValues(32 * d, 8, 4);
    xv.fill(3e13, 5 * d, 6 * d); // rs ≈ 3e-14: rs³ is an f32 subnormal
    const gv = randomValues(32 * d, 9, 2);
    sameBits(
      gradOf(xv, [32, d], gv, (x) => rmsNorm(x, null, 1e-6)),
      () => simdRowCalls.rmsNormGrad,
      0,
    );
  });

  // [shape, weight, bias]
  const lnShapes: [number[], boolean, boolean][] = [
    [[8, 128, 128], true, true],
    [[300, 129], false, false],
    [[40, 37], true, false],
    [[2, 1030], false, true],
    [[1024, 1], true, true],
    [[5, 3, 67], true, true],
    [[3, 37], true, true], // under the size threshold
  ];
  for (const [shape, weighted, biased] of lnShapes) {
    const what = `${weighted ? ' weight' : ''}${biased ? ' bias' : ''}`;
    it(`layerNorm ${shape.join('×')}${what}: JavaScript bits, float64 within 1e-5`, () => {
      const size = shape.reduce((p, d) => p * d, 1);
      const d = shape[shape.length - 1];
      const eps = 1e-5;
      const xv = randomValues(size, size + d + 1, 6);
      for (let i = 0; i < size; i += 3) xv[i] += 2; // a mean away from 0
      const wv = weighted ? randomValues(d, d + 1, 3) : null;
      const bv = biased ? randomValues(d, d + 2, 3) : null;
      const w = wv ? tensor(wv, [d]) : null;
      const bias = bv ? tensor(bv, [d]) : null;
      const taken = size >= 1024 ? 1 : 0;
      const y = sameBits(
        () => layerNorm(tensor(xv, shape), w, bias, eps),
        () => simdRowCalls.layerNorm,
        taken,
      );
      const gv = randomValues(size, size + 5, 2);
      const dx = sameBits(
        gradOf(xv, shape, gv, (x) => layerNorm(x, w, bias, eps)),
        () => simdRowCalls.layerNormGrad,
        taken,
      );
      // float64: y = x̂·w + b; dx = rs·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·w
      const yRef = new Float64Array(size);
      const dxRef = new Float64Array(size);
      for (let o = 0; o < size; o += d) {
        let mu = 0;
        for (let i = 0; i < d; i++) mu += xv[o + i] / d;
        let v = 0;
        for (let i = 0; i < d; i++) v += (xv[o + i] - mu) ** 2 / d;
        const rs = 1 / Math.sqrt(v + eps);
        let mg = 0;
        let mgx = 0;
        for (let i = 0; i < d; i++) {
          const g = gv[o + i] * (wv ? wv[i] : 1);
          mg += g / d;
          mgx += (g * (xv[o + i] - mu) * rs) / d;
        }
        for (let i = 0; i < d; i++) {
          const xh = (xv[o + i] - mu) * rs;
          yRef[o + i] = xh * (wv ? wv[i] : 1) + (bv ? bv[i] : 0);
          dxRef[o + i] = rs * (gv[o + i] * (wv ? wv[i] : 1) - mg - xh * mgx);
        }
      }
      expect(relErr(y, yRef)).toBeLessThan(1e-5);
      expect(relErr(dx, dxRef)).toBeLessThan(1e-4);
    });
  }

  it('layerNorm special rows: constant, tiny, huge, NaN and ±∞ (huge rows of the gradient: the loop)', () => {
    const d = 67;
    const rows = 24;
    const xv = randomValues(rows * d, 51, 4);
    const fill = (r: number, v: number) => xv.fill(v, r * d, (r + 1) * d);
    fill(0, 3); // constant: c = 0
    fill(1, 1e-20);
    for (let i = 0; i < d; i++) xv[2 * d + i] = i % 2 ? 1e18 : -1e18;
    xv[4 * d + 5] = Number.NaN;
    xv[5 * d + 1] = Number.POSITIVE_INFINITY;
    xv[6 * d + 2] = Number.NEGATIVE_INFINITY;
    xv[7 * d + 3] = -0;
    const wv = randomValues(d, 52, 3);
    const bv = randomValues(d, 53, 3);
    const gv = randomValues(rows * d, 54, 2);
    gv[9 * d + 4] = Number.NaN;
    const moderate = xv
      .slice()
      .fill(1e10, 2 * d, 3 * d)
      .fill(-1e10, 2 * d, 2 * d + 30);
    for (const eps of [1e-5, 0]) {
      for (const [w, b] of [
        [tensor(wv, [d]), tensor(bv, [d])],
        [null, null],
      ]) {
        sameBits(
          () => layerNorm(tensor(xv, [rows, d]), w, b, eps),
          () => simdRowCalls.layerNorm,
          1,
        );
        sameBits(
          gradOf(xv, [rows, d], gv, (x) => layerNorm(x, w, b, eps)),
          () => simdRowCalls.layerNormGrad,
          0,
        );
        sameBits(
          gradOf(moderate, [rows, d], gv, (x) => layerNorm(x, w, b, eps)),
          () => simdRowCalls.layerNormGrad,
          1,
        );
      }
    }
  });

  /** rotary in float64: forward x·cos + (−x₂, x₁)·sin over rows of d; t(r) gives the table row offset. */
  function rotaryRef(xv: Float32Array, cv: Float32Array, sv: Float32Array, d: number, period: number): Float64Array {
    const out = new Float64Array(xv.length);
    const h = d / 2;
    for (let o = 0; o < xv.length; o += d) {
      const t = o % period;
      for (let k = 0; k < h; k++) {
        out[o + k] = xv[o + k] * cv[t + k] - xv[o + k + h] * sv[t + k];
        out[o + k + h] = xv[o + k + h] * cv[t + k + h] + xv[o + k] * sv[t + k + h];
      }
    }
    return out;
  }

  // [x shape, table shape]
  const rotShapes: [number[], number[]][] = [
    [
      [8, 4, 128, 32],
      [128, 32],
    ],
    [
      [16, 7, 10],
      [7, 10],
    ],
    [
      [3, 41, 6],
      [1, 41, 6],
    ],
    [
      [2, 3, 300, 18],
      [300, 18],
    ],
    [
      [2, 1030],
      [2, 1030],
    ],
    [
      [3, 5, 6],
      [5, 6],
    ], // under the size threshold
  ];
  for (const [shape, tshape] of rotShapes) {
    it(`applyRotary ${shape.join('×')} (tables ${tshape.join('×')}): JavaScript bits, float64 within 1e-6`, () => {
      const size = shape.reduce((p, d) => p * d, 1);
      const tsize = tshape.reduce((p, d) => p * d, 1);
      const d = shape[shape.length - 1];
      const xv = randomValues(size, size, 4);
      const cv = randomValues(tsize, 1, 2);
      const sv = randomValues(tsize, 2, 2);
      const cos = tensor(cv, tshape);
      const sin = tensor(sv, tshape);
      const taken = size >= 1024 ? 1 : 0;
      const y = sameBits(
        () => applyRotary(tensor(xv, shape), cos, sin),
        () => simdRowCalls.rotary,
        taken,
      );
      expect(relErr(y, rotaryRef(xv, cv, sv, d, tsize))).toBeLessThan(1e-6);
      const gv = randomValues(size, size + 1, 2);
      const dx = sameBits(
        gradOf(xv, shape, gv, (x) => applyRotary(x, cos, sin)),
        () => simdRowCalls.rotaryInverse,
        taken,
      );
      // the gradient is the transposed rotation: Σ_k gv_k ∂out_k/∂x_i
      const dxRef = new Float64Array(size);
      const h = d / 2;
      for (let o = 0; o < size; o += d) {
        const t = o % tsize;
        for (let k = 0; k < h; k++) {
          dxRef[o + k] = gv[o + k] * cv[t + k] + gv[o + k + h] * sv[t + k + h];
          dxRef[o + k + h] = gv[o + k + h] * cv[t + k + h] - gv[o + k] * sv[t + k];
        }
      }
      expect(relErr(dx, dxRef)).toBeLessThan(1e-6);
    });
  }

  // [B, T, heads, D]
  const headShapes = [
    [8, 128, 4, 32],
    [3, 33, 5, 10],
    [2, 17, 3, 6], // under the size threshold
    [1, 9, 2, 130],
  ];
  for (const [b, t, heads, d] of headShapes) {
    it(`applyRotaryHeads ${b}×${t}×${heads}×${d}: JavaScript bits, float64 within 1e-6`, () => {
      const size = b * t * heads * d;
      const xv = randomValues(size, size + 7, 4);
      const cv = randomValues(t * d, 3, 2);
      const sv = randomValues(t * d, 4, 2);
      const cos = tensor(cv, [t, d]);
      const sin = tensor(sv, [t, d]);
      const taken = size >= 1024 ? 1 : 0;
      const shape = [b, t, heads * d];
      const y = sameBits(
        () => applyRotaryHeads(tensor(xv, shape), heads, cos, sin),
        () => simdRowCalls.rotary,
        taken,
      );
      // out [B, heads, T, D]: x's row (n, i, j) rotated with table row i
      const split = new Float32Array(size);
      for (let n = 0; n < b; n++)
        for (let i = 0; i < t; i++)
          for (let j = 0; j < heads; j++)
            split.set(
              xv.subarray(((n * t + i) * heads + j) * d, ((n * t + i) * heads + j + 1) * d),
              ((n * heads + j) * t + i) * d,
            );
      expect(relErr(y, rotaryRef(split, cv, sv, d, t * d))).toBeLessThan(1e-6);
      const gv = randomValues(size, size + 8, 2);
      sameBits(
        gradOf(xv, shape, gv, (x) => applyRotaryHeads(x, heads, cos, sin)),
        () => simdRowCalls.rotaryInverse,
        taken,
      );
    });
  }

  it('rotary with special values (NaN, ±∞, −0, huge products) keeps the JavaScript bits', () => {
    const shape = [4, 64, 16];
    const xv = randomValues(4096, 12, 4);
    const cv = randomValues(1024, 13, 2);
    const sv = randomValues(1024, 14, 2);
    xv[3] = Number.NaN;
    xv[100] = Number.POSITIVE_INFINITY;
    xv[200] = -0;
    xv[300] = 3e38;
    cv[40] = Number.NEGATIVE_INFINITY;
    sv[41] = 0;
    const cos = tensor(cv, [64, 16]);
    const sin = tensor(sv, [64, 16]);
    sameBits(
      () => applyRotary(tensor(xv, shape), cos, sin),
      () => simdRowCalls.rotary,
      1,
    );
    sameBits(
      gradOf(xv, shape, xv, (x) => applyRotary(x, cos, sin)),
      () => simdRowCalls.rotaryInverse,
      1,
    );
  });

  /** Per-row loss and gradient (upstream g per row) in float64. */
  function ceRef(lv: Float32Array, yv: Int32Array, gv: Float32Array, c: number, ignore: number) {
    const n = yv.length;
    const loss = new Float64Array(n);
    const grad = new Float64Array(n * c);
    for (let r = 0; r < n; r++) {
      if (yv[r] === ignore) continue;
      let mx = -Infinity;
      for (let i = 0; i < c; i++) mx = Math.max(mx, lv[r * c + i]);
      let s = 0;
      for (let i = 0; i < c; i++) s += Math.exp(lv[r * c + i] - mx);
      loss[r] = Math.log(s) + mx - lv[r * c + yv[r]];
      for (let i = 0; i < c; i++) grad[r * c + i] = (gv[r] * Math.exp(lv[r * c + i] - mx)) / s;
      grad[r * c + yv[r]] -= gv[r];
    }
    return { loss, grad };
  }

  // [rows, classes, ignoreIndex]
  const ceShapes: [number, number, number][] = [
    [1024, 259, -100],
    [200, 7, -100],
    [2048, 1, -100],
    [3, 20000, -100], // rows longer than the kept exponentials: computed twice
    [64, 33, 3], // a class index as ignoreIndex
    [4, 100, -100], // under the size threshold
  ];
  for (const [n, c, ignoreIndex] of ceShapes) {
    it(`crossEntropy ${n}×${c} (ignoreIndex ${ignoreIndex}): JavaScript bits, float64 within 1e-5`, () => {
      const lv = randomValues(n * c, n + c, 12);
      const yv = new Int32Array(n);
      for (let r = 0; r < n; r++) yv[r] = r % 5 === 1 ? ignoreIndex : (r * 7919) % c;
      if (ignoreIndex >= 0) yv[0] = ignoreIndex;
      const gv = randomValues(n, 77, 2);
      const labels = tensor(yv, [n], { dtype: 'i32' });
      const taken = n * c >= 1024 && simdSigmoidMatchesMathExp() ? 1 : 0;
      const loss = sameBits(
        () => crossEntropy(tensor(lv, [n, c]), labels, { reduction: 'none', ignoreIndex }),
        () => simdRowCalls.crossEntropy,
        taken,
      );
      const grad = sameBits(
        gradOf(lv, [n, c], gv, (x) => crossEntropy(x, labels, { reduction: 'none', ignoreIndex })),
        () => simdRowCalls.crossEntropyGrad,
        taken,
      );
      const ref = ceRef(lv, yv, gv, c, ignoreIndex);
      expect(relErr(loss, ref.loss)).toBeLessThan(1e-5);
      expect(relErr(grad, ref.grad)).toBeLessThan(1e-6);
    });
  }

  it('crossEntropy special logits (huge, ±∞, NaN, equal, −0) and upstream gradients keep the JavaScript bits', () => {
    const n = 16;
    const c = 131;
    const lv = randomValues(n * c, 21, 30);
    lv.fill(7, 0, c); // all equal
    lv[c + 3] = 3e38;
    lv[c + 4] = -3e38;
    lv[2 * c + 5] = Number.NEGATIVE_INFINITY;
    lv.fill(Number.NEGATIVE_INFINITY, 3 * c, 4 * c); // every logit −∞
    lv[4 * c + 6] = Number.POSITIVE_INFINITY;
    lv[5 * c + 7] = Number.NaN;
    lv.fill(-0, 6 * c, 7 * c);
    lv[6 * c + 2] = 0;
    for (let i = 0; i < c; i++) lv[7 * c + i] = i * 2; // exponentials that underflow
    const yv = new Int32Array(n);
    for (let r = 0; r < n; r++) yv[r] = (r * 31) % c;
    yv[9] = -100;
    const gv = randomValues(n, 5, 2);
    gv[10] = 0;
    gv[11] = Number.NaN;
    gv[12] = 1e30;
    const labels = tensor(yv, [n], { dtype: 'i32' });
    const taken = simdSigmoidMatchesMathExp() ? 1 : 0;
    sameBits(
      () => crossEntropy(tensor(lv, [n, c]), labels, { reduction: 'none' }),
      () => simdRowCalls.crossEntropy,
      taken,
    );
    sameBits(
      gradOf(lv, [n, c], gv, (x) => crossEntropy(x, labels, { reduction: 'none' })),
      () => simdRowCalls.crossEntropyGrad,
      taken,
    );
  });

  it('crossEntropy with a label out of range still throws (the SIMD path leaves it to the loop)', () => {
    const labels = tensor(new Int32Array(64).fill(2).fill(40, 10, 11), [64], { dtype: 'i32' });
    const logits = tensor(randomValues(64 * 33, 3), [64, 33]);
    expect(() => crossEntropy(logits, labels).dataSync()).toThrow(/out of range/);
  });
});

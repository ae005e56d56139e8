import { afterEach, describe, expect, it } from 'vitest';
import {
  add,
  addScaled,
  div,
  doraCombine,
  Generator,
  initBackend,
  mul,
  randn,
  setCpuSimdElementwise,
  sub,
  sum,
  type Tensor,
  tensor,
} from '../src/index.js';
import { gemmThreadStats } from '../src/backends/cpu/gemm-wasm.js';
import { simdCalls } from '../src/backends/cpu/simd.js';

// doraCombine replaces DoRA's composed combine; its forward and every gradient must be the composition's bits (DoRA
// training trajectories must not move), with the SIMD kernels (threaded or not) and with the JavaScript loops.

await initBackend('cpu');
afterEach(() => setCpuSimdElementwise(true));

/** The composition doraCombine replaces, exactly as packages/dora wrote it. */
const composed = (result: Tensor, base: Tensor, lora: Tensor, scale: Tensor, s: number) =>
  add(result, addScaled(mul(sub(scale, 1), base), mul(scale, lora), s));

/** Exact f32 bits (Uint32), so that −0 and +0 differ. */
const bits = (t: Tensor): number[] => Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer));

interface Case {
  shape: number[];
  s: number;
  /** Which leaves track gradients (result and base share one tensor with `shared`). */
  track?: { result?: boolean; base?: boolean; lora?: boolean; m?: boolean };
  shared?: boolean;
  seed?: number;
}

interface Leaves {
  result: Tensor;
  base: Tensor;
  lora: Tensor;
  m: Tensor;
  norm: Tensor;
  w: Tensor;
}

function leaves({ shape, track = {}, shared = false, seed = 1 }: Omit<Case, 's'>): Leaves {
  const c = shape[shape.length - 1];
  const g = (k: number) => ({ generator: new Generator(seed * 10 + k) });
  const result = randn(shape, 0, 1, g(1));
  const base = shared ? result : randn(shape, 0.2, 1.5, g(2));
  const lora = randn(shape, 0, 0.3, g(3));
  const m = add(randn([c], 0, 0.2, g(4)), 1);
  const norm = add(randn([c], 0, 0.2, g(5)), 1.1);
  const w = randn(shape, 0, 1, g(6));
  result.requiresGrad = track.result ?? true;
  if (!shared) base.requiresGrad = track.base ?? true;
  lora.requiresGrad = track.lora ?? true;
  m.requiresGrad = track.m ?? true;
  return { result, base, lora, m, norm, w };
}

/** y and the gradients of Σ y·w (null where a leaf does not track), for the op `f`. */
function run(l: Leaves, s: number, f: typeof composed) {
  for (const t of [l.result, l.base, l.lora, l.m]) t.zeroGrad();
  const scale = div(l.m, l.norm);
  const y = f(l.result, l.base, l.lora, scale, s);
  const op = y.gradNode?.op;
  sum(mul(y, l.w)).backward();
  const g = (t: Tensor) => (t.grad ? bits(t.grad) : null);
  return { op, y: bits(y), result: g(l.result), base: g(l.base), lora: g(l.lora), m: g(l.m) };
}

function expectSameBits(c: Case) {
  const l = leaves(c);
  const fused = run(l, c.s, doraCombine);
  const ref = run(l, c.s, composed);
  expect(fused.op).toBe('doraCombine');
  expect(fused.y).toEqual(ref.y);
  for (const k of ['result', 'base', 'lora', 'm'] as const) {
    expect(fused[k], k).toEqual(ref[k]);
  }
  // the leaves that track got a gradient
  const track = c.track ?? {};
  if (track.lora ?? true) expect(fused.lora).not.toBeNull();
  if (track.m ?? true) expect(fused.m).not.toBeNull();
  if ((track.base ?? true) && !c.shared) expect(fused.base).not.toBeNull();
  return fused;
}

describe('doraCombine equals the composed DoRA combine bit for bit (CPU)', () => {
  const shapes = [
    [7, 5], // below the SIMD threshold: the JavaScript loops
    [3, 4, 13],
    [2, 3, 5, 7], // rank 4: three stages of sums over the leading axes
    [129, 131], // SIMD, columns not a multiple of 4
    [5, 37, 19],
    [1031, 131], // threaded: one outer row, two column blocks (the last ragged)
    [4, 129, 257], // threaded: one item per (batch, column block)
    [1, 1, 1029],
    [6, 64, 33], // an even number of rows per item: every row in pairs
  ];
  for (const shape of shapes) {
    for (const simd of [true, false]) {
      it(`[${shape.join(', ')}], SIMD ${simd ? 'on' : 'off'}: forward and every gradient`, () => {
        setCpuSimdElementwise(simd);
        expectSameBits({ shape, s: 2 });
        expectSameBits({ shape, s: 1 / 3, seed: 2 }); // a scaling that f32 does not hold exactly
      });
    }
  }

  it('takes the SIMD kernels at sizes that have them', () => {
    const before = { ...simdCalls };
    expectSameBits({ shape: [3, 41, 67], s: 2 });
    expect(simdCalls.doraCombine).toBeGreaterThan(before.doraCombine);
    expect(simdCalls.doraCombineGrad).toBeGreaterThan(before.doraCombineGrad);
  });

  const partial: [string, Case['track'], boolean][] = [
    ['base frozen', { base: false }, false],
    ['result and base frozen', { result: false, base: false }, false],
    ['lora frozen', { lora: false }, false],
    ['magnitude frozen', { m: false }, false],
    ['only the magnitude', { result: false, base: false, lora: false }, false],
    ['base is result (no dropout, no bias)', {}, true],
    ['base is result, frozen', { result: false }, true],
  ];
  for (const [name, track, shared] of partial) {
    for (const shape of [
      [6, 9],
      [2, 33, 70],
    ]) {
      it(`${name}, [${shape.join(', ')}]`, () => {
        for (const simd of [true, false]) {
          setCpuSimdElementwise(simd);
          expectSameBits({ shape, s: 2, track, shared, seed: 3 });
        }
      });
    }
  }

  it('signed zeros and special values keep the composition bits', () => {
    // −0 products, zero columns (their sums are +0), large and tiny magnitudes
    const shape = [3, 5, 8];
    const n = 3 * 5 * 8;
    const vals = (f: (i: number) => number) =>
      tensor(
        Float32Array.from({ length: n }, (_, i) => f(i)),
        shape,
      );
    const result = vals((i) => (i % 3 === 0 ? -0 : i * 0.25 - 7));
    const base = vals((i) => (i % 8 === 0 ? -0 : i % 5 === 0 ? 3e38 : i % 7 === 0 ? 1e-40 : (i % 11) - 5));
    const lora = vals((i) => (i % 8 < 2 ? -0 : (i % 13) * 1e-3 - 6e-3));
    const m = tensor([1, 0, -0, 2, 1e-20, 1e20, 0.5, -3], [8]);
    const norm = tensor([1, 1, 1, 1, 1, 1, 1, 1], [8]);
    const w = vals((i) => (i % 4 === 0 ? -0 : (i % 9) - 4));
    for (const t of [result, base, lora, m]) t.requiresGrad = true;
    const l = { result, base, lora, m, norm, w };
    for (const simd of [true, false]) {
      setCpuSimdElementwise(simd);
      const a = run(l, 2, doraCombine);
      const b = run(l, 2, composed);
      expect(a.op).toBe('doraCombine');
      for (const k of ['y', 'result', 'base', 'lora', 'm'] as const) expect(a[k], k).toEqual(b[k]);
    }
  });

  it('helper threads take part without changing a bit', async () => {
    const l = leaves({ shape: [2, 517, 131] });
    const before = gemmThreadStats();
    // helpers start asynchronously: until one is up the calling thread runs every task itself, with the same bits
    const deadline = Date.now() + 20_000;
    let ref: ReturnType<typeof run> | null = null;
    do {
      const fused = run(l, 2, doraCombine);
      ref ??= run(l, 2, composed);
      for (const k of ['y', 'result', 'base', 'lora', 'm'] as const) expect(fused[k], k).toEqual(ref[k]);
      await new Promise((r) => setTimeout(r, 20));
    } while (gemmThreadStats().helperTasks === before.helperTasks && Date.now() < deadline);
    expect(gemmThreadStats().helperTasks).toBeGreaterThan(before.helperTasks);
  });

  it('falls back to the composition where the fused kernels do not apply (rank 1, a broadcast scale)', () => {
    const x = randn([9], 0, 1, { generator: new Generator(7) });
    const lo = randn([9], 0, 1, { generator: new Generator(8) });
    const sc = randn([9], 1, 0.1, { generator: new Generator(9) });
    expect(bits(doraCombine(x, x, lo, sc, 2))).toEqual(bits(composed(x, x, lo, sc, 2)));
    const x2 = randn([4, 6], 0, 1, { generator: new Generator(10) });
    const sc1 = tensor([1.25], [1]);
    const y = doraCombine(x2, x2, x2, sc1, 2);
    expect(bits(y)).toEqual(bits(composed(x2, x2, x2, sc1, 2)));
  });
});

describe('doraCombine against a float64 reference', () => {
  /** y and the gradients of Σ y·w in float64, from the same f32 inputs. */
  function reference(l: Leaves, s: number) {
    const [r, b, lo, m, nm, w] = [l.result, l.base, l.lora, l.m, l.norm, l.w].map((t) =>
      Float64Array.from(t.dataSync()),
    );
    const c = m.length;
    const sc = m.map((v, j) => v / nm[j]);
    const y = r.map((v, i) => v + (sc[i % c] - 1) * b[i] + sc[i % c] * lo[i] * s);
    const dBase = w.map((v, i) => v * (sc[i % c] - 1));
    const dLora = w.map((v, i) => v * sc[i % c] * s);
    const dm = new Float64Array(c);
    for (let i = 0; i < w.length; i++) dm[i % c] += (w[i] * (b[i] + lo[i] * s)) / nm[i % c];
    const loss = (mv: Float64Array, bv: Float64Array, lv: Float64Array) => {
      let t = 0;
      for (let i = 0; i < w.length; i++) {
        const k = mv[i % c] / nm[i % c];
        t += w[i] * (r[i] + (k - 1) * bv[i] + k * lv[i] * s);
      }
      return t;
    };
    return { y, dBase, dLora, dm, m, b, lo, loss };
  }

  const close = (got: ArrayLike<number>, want: ArrayLike<number>, tol: number) => {
    expect(got.length).toBe(want.length);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
    expect(worst).toBeLessThan(tol);
  };

  for (const shape of [
    [11, 6],
    [3, 7, 9],
    [4, 65, 67],
  ]) {
    it(`[${shape.join(', ')}]: forward, gradients, and central finite differences of the loss`, () => {
      const l = leaves({ shape, seed: 4 });
      const s = 1 / 3;
      const ref = reference(l, s);
      const y = doraCombine(l.result, l.base, l.lora, div(l.m, l.norm), s);
      sum(mul(y, l.w)).backward();
      close(y.dataSync(), ref.y, 1e-5);
      expect(bits(l.result.grad!)).toEqual(bits(l.w));
      close(l.base.grad!.dataSync(), ref.dBase, 1e-5);
      close(l.lora.grad!.dataSync(), ref.dLora, 1e-5);
      const rows = ref.y.length / shape[shape.length - 1];
      close(l.m.grad!.dataSync(), ref.dm, 1e-6 * rows);
      // finite differences of the float64 loss for a few entries of m, base and lora
      const h = 1e-4;
      const fd = (arr: Float64Array, i: number) => {
        const v = arr[i];
        arr[i] = v + h;
        const up = ref.loss(ref.m, ref.b, ref.lo);
        arr[i] = v - h;
        const down = ref.loss(ref.m, ref.b, ref.lo);
        arr[i] = v;
        return (up - down) / (2 * h);
      };
      const gm = l.m.grad!.dataSync();
      const gb = l.base.grad!.dataSync();
      const gl = l.lora.grad!.dataSync();
      for (const j of [0, 1, ref.m.length - 1]) expect(gm[j]).toBeCloseTo(fd(ref.m, j), 2);
      for (const i of [0, 5, ref.b.length - 1]) {
        expect(gb[i]).toBeCloseTo(fd(ref.b, i), 3);
        expect(gl[i]).toBeCloseTo(fd(ref.lo, i), 3);
      }
      for (const t of [l.result, l.base, l.lora, l.m]) t.zeroGrad();
    });
  }
});

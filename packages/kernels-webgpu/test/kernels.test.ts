/**
 * Focused checks of the WebGPU kernels against the CPU backend (the semantic reference), for what the shared
 * conformance suite does not reach: every matmul program (forced), the reduction/argmax/softmax variants chosen by
 * shape, 2-D dispatch grids, bit-exact random numbers over the 2^32 counter boundary, the documented
 * out-of-range behaviour of gather/scatterAdd/crossEntropy, and casts at the edges of i32.
 */
import * as T from '@peftjs/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MatmulPlan, planMatmul, runMatmul, splitPlan, type WebGPUBackend } from '../src/index.js';
import { put, randomInts, randomValues, relError, sameAsCpu } from './helpers.js';
import { startWebGPU, stopWebGPU } from './setup.js';

let be: WebGPUBackend;
let cpu: T.Backend;

beforeAll(async () => {
  be = await startWebGPU();
  cpu = await T.initBackend('cpu');
  await T.setBackend('cpu');
});
afterAll(stopWebGPU);

/** Run a product with a forced plan on the GPU and compare with the CPU's. */
async function checkMatmul(
  batchA: number,
  batchB: number,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  plan: MatmulPlan | undefined,
  seed: number,
): Promise<void> {
  const aShape = transA ? [batchA, k, m] : [batchA, m, k];
  const bShape = transB ? [batchB, n, k] : [batchB, k, n];
  const av = randomValues(aShape[0] * aShape[1] * aShape[2], seed);
  const bv = randomValues(bShape[0] * bShape[1] * bShape[2], seed + 1);
  const aC = put(cpu, { values: av, shape: aShape });
  const bC = put(cpu, { values: bv, shape: bShape });
  const want = T.matmul(aC, bC, { transA, transB });
  const wantData = await want.data();
  const aG = put(be, { values: av, shape: aShape });
  const bG = put(be, { values: bv, shape: bShape });
  const out = runMatmul(be, aG.info('test'), bG.info('test'), transA, transB, plan);
  const batch = Math.max(batchA, batchB);
  expect(out.shape).toEqual([batch, m, n]);
  const got = await be.read(out.dataId, 'f32', batch * m * n);
  be.release(out.dataId);
  const label = `${plan?.variant ?? 'auto'} B=${batchA}/${batchB} ${m}x${n}x${k} tA=${transA} tB=${transB}`;
  expect(relError(got, wantData), label).toBeLessThan(2e-6 * Math.max(1, Math.sqrt(k)));
  T.dispose([aC, bC, want, aG, bG]);
}

describe('matmul programs', () => {
  const tiled64: MatmulPlan = { variant: 'tiled64', splits: 1, chunk: 0 };
  const tiled32: MatmulPlan = { variant: 'tiled32', splits: 1, chunk: 0 };
  const smallM: MatmulPlan = { variant: 'smallM', splits: 1, chunk: 0 };
  const flags: [boolean, boolean][] = [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ];

  it('tiled 64×64: fitting, vec4 and scalar edges, all transpose flags', async () => {
    let seed = 1;
    for (const [tA, tB] of flags) {
      await checkMatmul(1, 1, 64, 128, 32, tA, tB, tiled64, seed++); // fit, vec4
      await checkMatmul(1, 1, 67, 70, 37, tA, tB, tiled64, seed++); // no fit, scalar loads (odd K, M, N)
      await checkMatmul(1, 1, 68, 72, 36, tA, tB, tiled64, seed++); // no fit, vec4 loads
    }
  });

  it('tiled 32×32 with batch broadcast (Ba = 1 or Bb = 1)', async () => {
    let seed = 100;
    for (const [tA, tB] of flags) {
      await checkMatmul(3, 1, 33, 35, 19, tA, tB, tiled32, seed++);
      await checkMatmul(1, 3, 32, 64, 48, tA, tB, tiled32, seed++);
      await checkMatmul(2, 2, 40, 12, 20, tA, tB, tiled32, seed++);
    }
  });

  it('small-M (vector-matrix) for M = 1..8, every transpose flag and batch', async () => {
    let seed = 200;
    for (const [tA, tB] of flags) {
      for (const m of [1, 2, 3, 5, 8]) await checkMatmul(2, m % 2 ? 1 : 2, m, 37, 43, tA, tB, smallM, seed++);
      await checkMatmul(1, 1, 4, 16, 64, tA, tB, smallM, seed++); // K % 4 = 0: vec4 dot path when transB
    }
  });

  it('split-K: partial products over K chunks, then summed', async () => {
    let seed = 300;
    for (const [tA, tB] of flags) {
      await checkMatmul(1, 1, 24, 20, 1000, tA, tB, splitPlan(1000, 7), seed++);
      await checkMatmul(2, 1, 16, 32, 512, tA, tB, splitPlan(512, 4), seed++); // fitting chunks
    }
  });

  it('auto plan: shapes pick the intended program', async () => {
    expect(planMatmul({ batch: 1, m: 1, n: 4096, k: 4096 }).variant).toBe('smallM');
    expect(planMatmul({ batch: 1, m: 512, n: 512, k: 512 }).variant).toBe('tiled64');
    expect(planMatmul({ batch: 1, m: 64, n: 64, k: 64 }).variant).toBe('tiled32');
    const p = planMatmul({ batch: 1, m: 32, n: 32, k: 8192 });
    expect(p.variant).toBe('splitK');
    expect(p.splits).toBeGreaterThan(1);
    expect(p.chunk % 16).toBe(0);
    expect(p.splits * p.chunk).toBeGreaterThanOrEqual(8192);
    await checkMatmul(1, 1, 32, 32, 8192, false, true, undefined, 400);
    await checkMatmul(1, 1, 100, 90, 50, false, false, undefined, 401);
  });

  it('K = 0 gives zeros; empty outputs need no dispatch', async () => {
    await sameAsCpu(
      be,
      [
        { values: new Float32Array(0), shape: [3, 0] },
        { values: new Float32Array(0), shape: [0, 5] },
      ],
      ([a, b]) => T.matmul(a, b),
      0,
    );
    await sameAsCpu(
      be,
      [
        { values: new Float32Array(0), shape: [0, 4] },
        { values: randomValues(20, 5), shape: [4, 5] },
      ],
      ([a, b]) => T.matmul(a, b),
      0,
    );
  });
});

describe('reductions and rows', () => {
  it('sum/max/min over long rows (256-thread workgroups) and inner > 1 (thread per output)', async () => {
    const x = { values: randomValues(3 * 5000, 11), shape: [3, 5000] };
    for (const op of [T.sum, T.max, T.min] as const) {
      await sameAsCpu(be, [x], ([t]) => op(t, -1), op === T.sum ? 1e-5 : 0, 'long rows');
      await sameAsCpu(be, [x], ([t]) => op(t, 0), op === T.sum ? 1e-5 : 0, 'axis 0, few outputs');
    }
    const wide = { values: randomValues(40 * 3000, 12), shape: [40, 3000] };
    await sameAsCpu(be, [wide], ([t]) => T.sum(t, 0), 1e-5, 'cols program');
    await sameAsCpu(be, [wide], ([t]) => T.max(t, 0), 0, 'cols program max');
    await sameAsCpu(be, [wide], ([t]) => T.argmax(t, 0), 0, 'cols argmax');
    await sameAsCpu(be, [wide], ([t]) => T.argmax(t, 1), 0, 'rows argmax');
  });

  it('a long f32 sum stays close to the float64 sum', async () => {
    const n = 1 << 20;
    const v = randomValues(n, 13, 0, 1);
    let exact = 0;
    for (let i = 0; i < n; i++) exact += v[i];
    const t = put(be, { values: v, shape: [n] });
    const s = T.sum(t);
    const got = await s.item();
    expect(Math.abs(got - exact) / exact).toBeLessThan(1e-6);
    T.dispose([t, s]);
  });

  it('i32 sum/max/min and argmax on i32 (ties go to the first index)', async () => {
    const x = { values: randomInts(6 * 700, 14, -5, 5), shape: [6, 700], dtype: 'i32' as const };
    for (const op of [T.sum, T.max, T.min] as const) await sameAsCpu(be, [x], ([t]) => op(t, -1), 0);
    await sameAsCpu(be, [x], ([t]) => T.argmax(t, -1), 0);
  });

  it('softmax, log-softmax, their gradients and cross-entropy on 5000-wide rows', async () => {
    const logits = { values: randomValues(4 * 5000, 15, -8, 8), shape: [4, 5000] };
    await sameAsCpu(be, [logits], ([x]) => T.softmax(x), 1e-5);
    await sameAsCpu(be, [logits], ([x]) => T.logSoftmax(x), 1e-5);
    const labels = { values: Int32Array.from([3, 4999, -100, 0]), shape: [4], dtype: 'i32' as const };
    await sameAsCpu(be, [logits, labels], ([x, y]) => T.crossEntropy(x, y, { reduction: 'none' }), 1e-5);
    const grad = async (b: T.Backend) => {
      const x = put(b, logits);
      x.requiresGrad = true;
      const y = put(b, labels);
      const loss = T.crossEntropy(x, y);
      loss.backward();
      const g = await x.grad!.data();
      T.dispose([x, y, loss]);
      return g;
    };
    expect(relError(await grad(be), await grad(cpu))).toBeLessThan(1e-5);
  });

  it('more rows than one grid dimension holds (2-D workgroup grid)', async () => {
    const rows = 70000;
    const x = { values: randomValues(rows * 3, 16), shape: [rows, 3] };
    await sameAsCpu(be, [x], ([t]) => T.softmax(t), 1e-6);
    await sameAsCpu(be, [x], ([t]) => T.sum(t, -1), 1e-6);
  });
});

describe('elementwise', () => {
  it('more elements than 65535 workgroups × 256 threads (2-D grid)', async () => {
    const n = 65535 * 256 + 1000;
    const a = T.full([n], 1.5, { backend: be });
    const b = T.add(a, 2);
    const v = await b.data();
    expect(v.length).toBe(n);
    expect(v[0]).toBe(3.5);
    expect(v[n - 1]).toBe(3.5);
    expect(v[65535 * 256 + 3]).toBe(3.5);
    T.dispose([a, b]);
  });

  it('broadcasting at rank 5 with collapsible and non-collapsible axes', async () => {
    const a = { values: randomValues(2 * 1 * 3 * 1 * 5, 17), shape: [2, 1, 3, 1, 5] };
    const b = { values: randomValues(4 * 3 * 6 * 5, 18), shape: [4, 3, 6, 5] };
    await sameAsCpu(be, [a, b], ([x, y]) => T.sub(x, y), 0);
    await sameAsCpu(be, [a, b], ([x, y]) => T.less(x, y), 0);
    await sameAsCpu(be, [a], ([x]) => T.expand(x, [2, 4, 3, 6, 5]), 0);
    await sameAsCpu(be, [b], ([x]) => T.permute(x, [2, 0, 3, 1]), 0);
  });

  it('i32 division truncates toward zero; x / 0 is 0; pow on i32', async () => {
    const a = { values: Int32Array.from([7, -7, 7, -7, 5, 0, -2147483648, 3]), shape: [8], dtype: 'i32' as const };
    const b = { values: Int32Array.from([2, 2, -2, -2, 0, 0, -1, 3]), shape: [8], dtype: 'i32' as const };
    await sameAsCpu(be, [a, b], ([x, y]) => T.div(x, y), 0);
    const p = { values: Int32Array.from([2, 2, 2, 1, -1, -1, 0, 3]), shape: [8], dtype: 'i32' as const };
    await sameAsCpu(be, [p, b], ([x, y]) => T.pow(x, T.abs(y)), 0);
  });

  it('casts: truncation, NaN/±∞ → 0 and wrap-around beyond the i32 range, x != 0 for bool', async () => {
    const x = {
      values: Float32Array.from([
        1.9,
        -1.9,
        Number.NaN,
        Number.POSITIVE_INFINITY,
        -Number.POSITIVE_INFINITY,
        3e9,
        -3e9,
        2147483648,
        -2147483648,
        1e20,
        -0,
      ]),
      shape: [11],
    };
    await sameAsCpu(be, [x], ([t]) => T.cast(t, 'i32'), 0);
    await sameAsCpu(be, [x], ([t]) => T.cast(t, 'bool'), 0);
    await sameAsCpu(be, [x], ([t]) => T.cast(T.cast(t, 'bool'), 'f32'), 0);
  });

  it('bool round-trips through u32 storage; byteSize counts 4 bytes per element', async () => {
    const v = Uint8Array.from([1, 0, 1, 1, 0]);
    const t = T.tensor(v, [5], { backend: be, dtype: 'bool' });
    expect(Array.from(await t.data())).toEqual([1, 0, 1, 1, 0]);
    expect((await t.data()) instanceof Uint8Array).toBe(true);
    expect(be.byteSize(t.info('test').dataId)).toBe(20);
    t.dispose();
  });

  it('exp/log/sin/cos/tanh/erf-GELU stay within a few f32 ULP of the float64 CPU values', async () => {
    const x = { values: randomValues(4096, 19, -20, 20), shape: [4096] };
    const pos = { values: randomValues(4096, 20, 1e-6, 1e6), shape: [4096] };
    const near1 = { values: randomValues(4096, 21, 0.999, 1.001), shape: [4096] };
    await sameAsCpu(be, [x], ([t]) => T.exp(t), 1e-6, 'exp');
    await sameAsCpu(be, [pos], ([t]) => T.log(t), 1e-6, 'log');
    // log near 1: absolute error must be tiny relative to |log x| ≈ 1e-3 (WGSL's own log allows 2^-21 absolute)
    const l = await sameAsCpu(be, [near1], ([t]) => T.log(t), 1e-4, 'log near 1');
    expect(relError(l.got, l.want, 1e-12)).toBeLessThan(1e-4);
    await sameAsCpu(be, [x], ([t]) => T.sin(t), 1e-6, 'sin');
    await sameAsCpu(be, [x], ([t]) => T.cos(t), 1e-6, 'cos');
    await sameAsCpu(be, [x], ([t]) => T.tanh(t), 1e-6, 'tanh');
    await sameAsCpu(be, [x], ([t]) => T.gelu(t), 1e-6, 'gelu');
    await sameAsCpu(be, [x], ([t]) => T.sigmoid(t), 1e-6, 'sigmoid');
  });
});

describe('random numbers', () => {
  it('randomUniform is bit-identical to uniformAt, across the 2^32 counter boundary and at 2^40', async () => {
    for (const counter of [0, 4294967296 - 1000, 2 ** 40 + 12345]) {
      const key: [number, number] = [0x12345678, 0x9abcdef0];
      const n = 4000;
      const out = T.runKernel(be, 'randomUniform', [], { shape: [n], key, counter });
      const got = (await be.read(out.dataId, 'f32', n)) as Float32Array;
      be.release(out.dataId);
      for (let i = 0; i < n; i++) {
        if (got[i] !== T.uniformAt(key, counter + i)) {
          throw new Error(`counter ${counter} + ${i}: ${got[i]} != ${T.uniformAt(key, counter + i)}`);
        }
      }
    }
  });

  it('dropout masks match the CPU for the same seed', async () => {
    const x = { values: randomValues(3000, 22), shape: [30, 100] };
    const run = async (b: T.Backend) => {
      const t = put(b, x);
      const y = T.dropout(t, 0.3, { generator: new T.Generator(1234) });
      const d = await y.data();
      T.dispose([t, y]);
      return d;
    };
    expect(Array.from(await run(be))).toEqual(Array.from(await run(cpu)));
  });
});

describe('out-of-range indices (documented device behaviour: the CPU throws instead)', () => {
  it('gather: an index outside [0, n) yields zeros', async () => {
    const x = T.tensor(
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      undefined,
      { backend: be },
    );
    const idx = T.tensor(Int32Array.from([2, 3, -1, 0]), [4], { backend: be });
    const y = T.gather(x, idx, 0);
    expect(await y.toArray()).toEqual([
      [5, 6],
      [0, 0],
      [0, 0],
      [1, 2],
    ]);
    T.dispose([x, idx, y]);
  });

  it('scatterAdd (gather gradient): contributions of out-of-range indices are dropped; repeats add up', async () => {
    const dy = T.tensor(
      [
        [1, 1],
        [2, 2],
        [3, 3],
        [4, 4],
      ],
      undefined,
      { backend: be },
    );
    const idx = T.tensor(Int32Array.from([1, 1, 7, -2]), [4], { backend: be });
    const out = T.runKernel(be, 'scatterAdd', [dy.info('t'), idx.info('t')], { axis: 0, shape: [3, 2] });
    expect(Array.from(await be.read(out.dataId, 'f32', 6))).toEqual([0, 0, 3, 3, 0, 0]);
    be.release(out.dataId);
    T.dispose([dy, idx]);
  });

  it('crossEntropy: an out-of-range label gives a NaN loss for its row', async () => {
    const logits = T.tensor(
      [
        [1, 2, 3],
        [1, 2, 3],
        [1, 2, 3],
      ],
      undefined,
      { backend: be },
    );
    const labels = T.tensor(Int32Array.from([0, 5, -100]), [3], { backend: be });
    const l = T.crossEntropy(logits, labels, { reduction: 'none' });
    const v = await l.data();
    expect(v[0]).toBeCloseTo(2.4076059644, 5);
    expect(Number.isNaN(v[1])).toBe(true);
    expect(v[2]).toBe(0);
    T.dispose([logits, labels, l]);
  });
});

describe('concat, slices, padding at several ranks', () => {
  it('match the CPU', async () => {
    const a = { values: randomValues(2 * 3 * 4, 30), shape: [2, 3, 4] };
    const b = { values: randomValues(2 * 5 * 4, 31), shape: [2, 5, 4] };
    await sameAsCpu(be, [a, b], ([x, y]) => T.concat([x, y, x], 1), 0);
    await sameAsCpu(be, [a], ([x]) => T.slice(x, [1, 1, 1], [1, 2, 2]), 0);
    const pad = async (b2: T.Backend) => {
      const x = put(b2, a);
      const out = T.runKernel(b2, 'padSlice', [x.info('t')], { shape: [4, 5, 6], begin: [1, 2, 1] });
      const v = await b2.read(out.dataId, 'f32', 120);
      b2.release(out.dataId);
      x.dispose();
      return v;
    };
    expect(Array.from(await pad(be))).toEqual(Array.from(await pad(cpu)));
  });
});

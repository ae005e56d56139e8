/**
 * Conformance tests that are not "an op against its reference": random number generation, dropout's counter-based
 * mask, typed errors, autograd semantics and memory accounting.
 */
import { expect } from 'vitest';
import { dispose, keep, tidy } from '../autograd.js';
import { missingKernels } from '../backend.js';
import { getBackend, isGradEnabled, memory, noGrad, setBackend } from '../engine.js';
import { BackendError, DisposedError, DTypeError, GradError, KernelError, ShapeError, TensorError } from '../errors.js';
import * as ops from '../ops/index.js';
import { Generator, kaimingUniform, manualSeed, randint, randn, uniform, uniformAt } from '../random.js';
import type { Tensor } from '../tensor.js';
import { Rng } from './harness.js';

export interface SpecialTest {
  name: string;
  run: () => void | Promise<void>;
}

const values = async (t: Tensor): Promise<number[]> => Array.from(await t.data());

function stats(v: readonly number[]): { mean: number; variance: number; min: number; max: number } {
  let s = 0;
  let mn = Infinity;
  let mx = -Infinity;
  for (const x of v) {
    s += x;
    mn = Math.min(mn, x);
    mx = Math.max(mx, x);
  }
  const mean = s / v.length;
  let ss = 0;
  for (const x of v) ss += (x - mean) ** 2;
  return { mean, variance: ss / v.length, min: mn, max: mx };
}

/** The id the next tensor will get (tensor ids count creations). */
function nextTensorId(): number {
  const t = ops.scalar(0);
  const id = t.id;
  t.dispose();
  return id + 1;
}

function expectMemory(before: ReturnType<typeof memory>, label: string): void {
  const after = memory();
  expect({ tensors: after.tensors, buffers: after.buffers, bytes: after.bytes }, label).toEqual({
    tensors: before.tensors,
    buffers: before.buffers,
    bytes: before.bytes,
  });
}

/** A test whose tensors must all be gone when it ends. */
const clean = (fn: () => void | Promise<void>) => async (): Promise<void> => {
  const before = memory();
  await fn();
  expectMemory(before, 'tensors left alive by the test');
};

// ---------------------------------------------------------------------------------------------------------------
// Random

function randomTests(): SpecialTest[] {
  return [
    {
      name: 'random/randn/reproducible',
      run: clean(async () => {
        const a = randn([257], 0, 1, { generator: new Generator(42) });
        const b = randn([257], 0, 1, { generator: new Generator(42) });
        const c = randn([257], 0, 1, { generator: new Generator(43) });
        const g = new Generator(42);
        const d1 = randn([257], 0, 1, { generator: g });
        const d2 = randn([257], 0, 1, { generator: g });
        expect(a.backend).toBe(getBackend());
        expect(a.dtype).toBe('f32');
        expect(await values(a)).toEqual(await values(b));
        expect(await values(a)).not.toEqual(await values(c));
        expect(await values(d1)).toEqual(await values(a));
        expect(await values(d2)).not.toEqual(await values(d1));
        dispose([a, b, c, d1, d2]);
      }),
    },
    {
      name: 'random/randn/moments',
      run: clean(async () => {
        const n = 20000;
        const t = randn([n], 2, 3, { generator: new Generator(1) });
        const v = await values(t);
        const s = stats(v);
        expect(Math.abs(s.mean - 2)).toBeLessThan(0.1);
        expect(Math.abs(Math.sqrt(s.variance) - 3)).toBeLessThan(0.1);
        const within1 = v.filter((x) => Math.abs(x - 2) < 3).length / n;
        expect(Math.abs(within1 - 0.6827)).toBeLessThan(0.015);
        const skew = v.reduce((p, x) => p + ((x - s.mean) / 3) ** 3, 0) / n;
        expect(Math.abs(skew)).toBeLessThan(0.1);
        t.dispose();
      }),
    },
    {
      name: 'random/uniform/range-moments',
      run: clean(async () => {
        const t = uniform([20000], -2, 3, { generator: new Generator(2) });
        const s = stats(await values(t));
        expect(s.min).toBeGreaterThanOrEqual(-2);
        expect(s.max).toBeLessThan(3);
        expect(Math.abs(s.mean - 0.5)).toBeLessThan(0.05);
        expect(Math.abs(s.variance / (25 / 12) - 1)).toBeLessThan(0.05);
        t.dispose();
      }),
    },
    {
      name: 'random/uniform/matches-uniformAt',
      run: clean(async () => {
        const g = new Generator(7);
        g.take(5);
        const c = g.state.counter;
        const t = uniform([100], 0, 1, { generator: g });
        const v = await values(t);
        v.forEach((x, i) => {
          expect(x).toBe(uniformAt(g.key, c + i));
        });
        expect(g.state.counter).toBe(c + 100);
        t.dispose();
      }),
    },
    {
      name: 'random/randint/range-reproducible',
      run: clean(async () => {
        const t = randint(3, 9, [6000], { generator: new Generator(3) });
        const u = randint(3, 9, [6000], { generator: new Generator(3) });
        expect(t.dtype).toBe('i32');
        const v = await values(t);
        expect(await values(u)).toEqual(v);
        const counts = new Map<number, number>();
        for (const x of v) {
          expect(Number.isInteger(x) && x >= 3 && x < 9).toBe(true);
          counts.set(x, (counts.get(x) ?? 0) + 1);
        }
        expect([...counts.keys()].sort()).toEqual([3, 4, 5, 6, 7, 8]);
        for (const c of counts.values()) expect(Math.abs(c / 6000 - 1 / 6)).toBeLessThan(0.025);
        dispose([t, u]);
      }),
    },
    {
      name: 'random/kaimingUniform/bound',
      run: clean(async () => {
        // a = √5 (the default, nn.Linear / LoRA A): bound = gain·√(3/fan_in) with gain = √(2/6), i.e. 1/√fan_in.
        const w = kaimingUniform([64, 100], { generator: new Generator(4) });
        const s = stats(await values(w));
        const bound = 1 / Math.sqrt(100);
        expect(Math.max(-s.min, s.max)).toBeLessThanOrEqual(bound);
        expect(Math.max(-s.min, s.max)).toBeGreaterThan(0.99 * bound);
        expect(Math.abs(s.mean)).toBeLessThan(0.005);
        expect(Math.abs(s.variance / ((bound * bound) / 3) - 1)).toBeLessThan(0.06);
        // fan_in of a conv-shaped weight is shape[1] · receptive field
        const conv = kaimingUniform([16, 3, 3, 3], { generator: new Generator(5) });
        const sc = stats(await values(conv));
        const bc = 1 / Math.sqrt(27);
        expect(Math.max(-sc.min, sc.max)).toBeLessThanOrEqual(bc);
        expect(Math.max(-sc.min, sc.max)).toBeGreaterThan(0.95 * bc);
        // a = 0 (ReLU gain √2): bound = √(6 / fan_in)
        const r = kaimingUniform([50, 40], { a: 0, generator: new Generator(6) });
        const sr = stats(await values(r));
        expect(Math.max(-sr.min, sr.max)).toBeLessThanOrEqual(Math.sqrt(6 / 40));
        expect(Math.max(-sr.min, sr.max)).toBeGreaterThan(0.97 * Math.sqrt(6 / 40));
        // explicit fan_in
        const f = kaimingUniform([1000], { fanIn: 25, generator: new Generator(8) });
        const sf = stats(await values(f));
        expect(Math.max(-sf.min, sf.max)).toBeLessThanOrEqual(0.2);
        expect(Math.max(-sf.min, sf.max)).toBeGreaterThan(0.19);
        // exactly uniform(−bound, bound) from the generator's stream: w = −b + 2b·uniformAt(key, i)
        const key = new Generator(4).key;
        const wv = await values(w);
        let off = 0;
        wv.forEach((x, k) => {
          if (x !== Math.fround(-bound + 2 * bound * uniformAt(key, k))) off++;
        });
        expect(off, 'values that are not -b + 2b·u with b = 1/sqrt(fan_in)').toBe(0);
        // reproducible
        const w2 = kaimingUniform([64, 100], { generator: new Generator(4) });
        expect(await values(w2)).toEqual(await values(w));
        dispose([w, conv, r, f, w2]);
      }),
    },
    {
      name: 'random/manualSeed',
      run: clean(async () => {
        manualSeed(11);
        const a = randn([50]);
        manualSeed(11);
        const b = randn([50]);
        const c = randn([50]);
        expect(await values(a)).toEqual(await values(b));
        expect(await values(c)).not.toEqual(await values(b));
        dispose([a, b, c]);
      }),
    },
    {
      name: 'random/generator-seed-validation',
      run: () => {
        for (const bad of [1.5, Number.NaN, 2 ** 60, -Infinity]) expect(() => new Generator(bad)).toThrow(RangeError);
        expect(new Generator(-3).key).toEqual(new Generator(-3).key);
        expect(new Generator(2 ** 40).key).not.toEqual(new Generator(0).key);
      },
    },
    {
      name: 'random/generator-state',
      run: clean(async () => {
        const g = new Generator(3);
        randn([10], 0, 1, { generator: g }).dispose();
        const saved = g.state;
        const a = randn([10], 0, 1, { generator: g });
        g.setState(saved);
        const b = randn([10], 0, 1, { generator: g });
        expect(await values(a)).toEqual(await values(b));
        dispose([a, b]);
      }),
    },
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Dropout

function dropoutTests(): SpecialTest[] {
  return [
    {
      name: 'dropout/mask-matches-host',
      run: clean(async () => {
        const p = 0.3;
        const g = new Generator(123);
        g.take(17);
        const c = g.state.counter;
        const x = ops.ones([64, 33]);
        const y = ops.dropout(x, p, { generator: g });
        expect(y.backend).toBe(getBackend());
        const v = await values(y);
        let mismatches = 0;
        v.forEach((yv, i) => {
          if ((yv !== 0) !== uniformAt(g.key, c + i) >= p) mismatches++;
        });
        expect(mismatches).toBe(0);
        expect(g.state.counter).toBe(c + x.size);
        dispose([x, y]);
      }),
    },
    {
      name: 'dropout/same-seed-same-mask',
      run: clean(async () => {
        const x = ops.ones([40, 25]);
        const a = ops.dropout(x, 0.5, { generator: new Generator(9) });
        const b = ops.dropout(x, 0.5, { generator: new Generator(9) });
        expect(await values(a)).toEqual(await values(b));
        const g = new Generator(9);
        const c1 = ops.dropout(x, 0.5, { generator: g });
        const c2 = ops.dropout(x, 0.5, { generator: g });
        expect(await values(c1)).toEqual(await values(a));
        expect(await values(c2)).not.toEqual(await values(c1));
        dispose([x, a, b, c1, c2]);
      }),
    },
    {
      name: 'dropout/kept-fraction',
      run: clean(async () => {
        const x = ops.ones([200, 200]);
        for (const p of [0.1, 0.3, 0.9]) {
          const y = ops.dropout(x, p, { generator: new Generator(10) });
          const kept = (await values(y)).filter((v) => v !== 0).length / x.size;
          expect(Math.abs(kept - (1 - p))).toBeLessThan(0.01);
          y.dispose();
        }
        x.dispose();
      }),
    },
    {
      name: 'dropout/scale',
      run: clean(async () => {
        const p = 0.35;
        const x = randn([4000], 0, 1, { generator: new Generator(11) });
        const y = ops.dropout(x, p, { generator: new Generator(12) });
        const xv = await values(x);
        const yv = await values(y);
        const key = new Generator(12).key;
        let kept = 0;
        yv.forEach((v, i) => {
          if (uniformAt(key, i) >= Math.fround(p)) {
            kept++;
            const want = xv[i] / (1 - p);
            expect(Math.abs(v - want)).toBeLessThanOrEqual(1e-6 * Math.abs(want));
          } else {
            expect(v).toBe(0);
          }
        });
        expect(kept).toBeGreaterThan(0);
        dispose([x, y]);
      }),
    },
    {
      name: 'dropout/grad-is-mask-over-keep',
      run: clean(async () => {
        const p = 0.3;
        const rng = new Rng(77);
        const rv = Array.from({ length: 2000 }, () => Math.fround(rng.normal()));
        const x = randn([50, 40], 0, 1, { generator: new Generator(13), requiresGrad: true });
        tidy(() => {
          const r = ops.tensor(rv, [50, 40]);
          ops.sum(ops.mul(ops.dropout(x, p, { generator: new Generator(14) }), r)).backward();
        });
        const key = new Generator(14).key;
        const gv = await values(x.grad!);
        const s = Math.fround(1 / (1 - p));
        let bad = 0;
        gv.forEach((gi, i) => {
          const want = uniformAt(key, i) >= Math.fround(p) ? Math.fround(rv[i] * s) : 0;
          if (gi !== want) bad++;
        });
        expect(bad).toBe(0);
        x.dispose();
      }),
    },
    {
      name: 'dropout/off-is-identity',
      run: clean(async () => {
        const x = randn([3, 4], 0, 1, { generator: new Generator(15) });
        const g = new Generator(16);
        const a = ops.dropout(x, 0, { generator: g });
        const b = ops.dropout(x, 0.5, { generator: g, training: false });
        expect(await values(a)).toEqual(await values(x));
        expect(await values(b)).toEqual(await values(x));
        expect(g.state.counter).toBe(0);
        dispose([x, a, b]);
      }),
    },
    {
      name: 'dropout/invalid-p',
      run: clean(() => {
        const x = ops.ones([3]);
        for (const p of [1, -0.1, Number.NaN, 1.5]) expect(() => ops.dropout(x, p)).toThrow(RangeError);
        x.dispose();
      }),
    },
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

type ErrorClass = new (...args: never[]) => Error;

function errorTests(): SpecialTest[] {
  const f = (shape: number[]) => ops.zeros(shape);
  const i = (shape: number[]) => ops.zeros(shape, { dtype: 'i32' });
  const b = (shape: number[]) => ops.zeros(shape, { dtype: 'bool' });
  const sync: [string, ErrorClass, () => unknown][] = [
    ['ShapeError/broadcast', ShapeError, () => ops.add(f([3, 4]), f([2, 4]))],
    ['ShapeError/compare-broadcast', ShapeError, () => ops.less(f([3]), f([4]))],
    ['ShapeError/where-broadcast', ShapeError, () => ops.where(b([2]), f([3]), f([3]))],
    ['ShapeError/matmul-inner', ShapeError, () => ops.matmul(f([2, 3]), f([4, 5]))],
    ['ShapeError/matmul-inner-transposed', ShapeError, () => ops.matmul(f([2, 3]), f([3, 5]), { transB: true })],
    ['ShapeError/matmul-rank1', ShapeError, () => ops.matmul(f([3]), f([3, 2]))],
    ['ShapeError/matmul-batch', ShapeError, () => ops.matmul(f([2, 2, 3]), f([3, 3, 4]))],
    ['ShapeError/reshape-size', ShapeError, () => ops.reshape(f([2, 3]), [4, 2])],
    ['ShapeError/reshape-two-infer', ShapeError, () => ops.reshape(f([2, 3]), [-1, -1])],
    ['ShapeError/reshape-infer-indivisible', ShapeError, () => ops.reshape(f([2, 3]), [4, -1])],
    ['ShapeError/concat', ShapeError, () => ops.concat([f([2, 3]), f([3, 2])], 0)],
    ['ShapeError/stack', ShapeError, () => ops.stack([f([2, 3]), f([3, 2])], 0)],
    ['ShapeError/permute', ShapeError, () => ops.permute(f([2, 3]), [0, 0])],
    ['ShapeError/slice-out-of-bounds', ShapeError, () => ops.slice(f([2, 3]), [1, 2], [2, 2])],
    ['ShapeError/axis-out-of-range', ShapeError, () => ops.sum(f([2, 3]), 2)],
    ['ShapeError/softmax-axis', ShapeError, () => ops.softmax(f([2, 3]), -3)],
    ['ShapeError/expand', ShapeError, () => ops.expand(f([2, 3]), [3, 3])],
    ['ShapeError/expand-new-dim-minus-one', ShapeError, () => ops.expand(f([3]), [-1, 3])],
    ['ShapeError/kaimingUniform-rank1', ShapeError, () => kaimingUniform([5])],
    ['ShapeError/randint-empty-range', ShapeError, () => randint(3, 3, [2])],
    ['ShapeError/chunk', ShapeError, () => ops.chunk(f([5]), 2)],
    ['ShapeError/squeeze', ShapeError, () => ops.squeeze(f([2, 3]), 0)],
    ['ShapeError/crossEntropy-labels', ShapeError, () => ops.crossEntropy(f([2, 3]), i([3]))],
    ['ShapeError/tensor-values', ShapeError, () => ops.tensor([1, 2, 3], [2, 2])],
    ['ShapeError/tensor-ragged', ShapeError, () => ops.tensor([[1, 2], [3]])],
    ['ShapeError/rotary-odd-dim', ShapeError, () => ops.rotaryTables(4, 5)],
    [
      'ShapeError/backward-seed',
      ShapeError,
      () => {
        const x = ops.ones([2], { requiresGrad: true });
        ops.mul(x, 2).backward(f([3]));
      },
    ],
    ['DTypeError/binary-mismatch', DTypeError, () => ops.add(f([2]), i([2]))],
    ['DTypeError/bool-arithmetic', DTypeError, () => ops.add(b([2]), b([2]))],
    ['DTypeError/unary-int', DTypeError, () => ops.exp(i([2]))],
    ['DTypeError/unary-bool', DTypeError, () => ops.neg(b([2]))],
    ['DTypeError/matmul-int', DTypeError, () => ops.matmul(i([2, 2]), i([2, 2]))],
    ['DTypeError/where-condition', DTypeError, () => ops.where(f([2]), f([2]), f([2]))],
    ['DTypeError/where-branches', DTypeError, () => ops.where(b([2]), f([2]), i([2]))],
    ['DTypeError/gather-indices', DTypeError, () => ops.gather(f([3, 2]), f([2]), 0)],
    ['DTypeError/concat-mixed', DTypeError, () => ops.concat([f([2]), i([2])])],
    ['DTypeError/reduce-bool', DTypeError, () => ops.sum(b([2]))],
    ['DTypeError/mean-int', DTypeError, () => ops.mean(i([2, 2]))],
    ['DTypeError/layerNorm-int', DTypeError, () => ops.layerNorm(i([2, 2]))],
    ['DTypeError/softmax-int', DTypeError, () => ops.softmax(i([2, 2]))],
    ['DTypeError/crossEntropy-labels', DTypeError, () => ops.crossEntropy(f([2, 3]), f([2]))],
    ['DTypeError/compare-mismatch', DTypeError, () => ops.less(f([2]), i([2]))],
    ['DTypeError/i32-with-fraction', DTypeError, () => ops.add(i([2]), 0.5)],
    ['DTypeError/i32-compare-fraction', DTypeError, () => ops.less(i([2]), 0.5)],
    ['DTypeError/bool-with-non-boolean', DTypeError, () => ops.equal(b([2]), 2)],
    [
      'DTypeError/attention-mask',
      DTypeError,
      () => ops.scaledDotProductAttention(f([1, 2, 4]), f([1, 2, 4]), f([1, 2, 4]), { mask: f([2, 2]) }),
    ],
    [
      'DisposedError/unary',
      DisposedError,
      () => {
        const x = f([2]);
        x.dispose();
        ops.exp(x);
      },
    ],
    [
      'DisposedError/binary',
      DisposedError,
      () => {
        const x = f([2]);
        x.dispose();
        ops.add(f([2]), x);
      },
    ],
    [
      'DisposedError/reshape',
      DisposedError,
      () => {
        const x = f([2]);
        x.dispose();
        ops.reshape(x, [2, 1]);
      },
    ],
    [
      'DisposedError/matmul',
      DisposedError,
      () => {
        const x = f([2, 2]);
        x.dispose();
        ops.matmul(x, f([2, 2]));
      },
    ],
    [
      'DisposedError/after-tidy',
      DisposedError,
      () => {
        const box: { t?: Tensor } = {};
        tidy(() => {
          box.t = f([2]);
        });
        ops.exp(box.t!);
      },
    ],
    ['GradError/non-scalar', GradError, () => ops.mul(ops.ones([2, 3], { requiresGrad: true }), 2).backward()],
    ['GradError/no-grad-path', GradError, () => ops.sum(f([2])).backward()],
    [
      'GradError/under-noGrad',
      GradError,
      () => {
        const x = ops.ones([2], { requiresGrad: true });
        noGrad(() => ops.sum(ops.mul(x, 2))).backward();
      },
    ],
    [
      'GradError/disposed-input',
      GradError,
      () => {
        const x = ops.ones([2], { requiresGrad: true });
        const y = ops.exp(x);
        const loss = ops.sum(ops.mul(y, x));
        x.dispose();
        loss.backward();
      },
    ],
    ['KernelError/gather-index', KernelError, () => ops.gather(f([3, 2]), ops.tensor(new Int32Array([0, 3])), 0)],
    [
      'KernelError/gather-negative-index',
      KernelError,
      () => ops.gather(f([3, 2]), ops.tensor(new Int32Array([-1])), 0),
    ],
    [
      'KernelError/crossEntropy-label',
      KernelError,
      () => ops.crossEntropy(f([2, 3]), ops.tensor(new Int32Array([0, 3]))),
    ],
  ];
  const tests: SpecialTest[] = sync.map(([name, cls, fn]) => ({
    name: `errors/${name}`,
    run: clean(() => {
      let thrown: unknown = null;
      tidy(() => {
        try {
          fn();
        } catch (e) {
          thrown = e;
        }
      });
      expect(thrown, 'no error was thrown').toBeInstanceOf(cls);
      expect(thrown).toBeInstanceOf(TensorError);
    }),
  }));
  tests.push(
    {
      name: 'errors/DisposedError/data',
      run: clean(async () => {
        const x = f([2]);
        x.dispose();
        await expect(x.data()).rejects.toBeInstanceOf(DisposedError);
        expect(x.isDisposed).toBe(true);
        x.dispose(); // a second dispose is a no-op
      }),
    },
    {
      name: 'errors/BackendError/unknown-backend',
      run: async () => {
        const active = getBackend();
        await expect(setBackend('no-such-backend')).rejects.toBeInstanceOf(BackendError);
        expect(getBackend()).toBe(active);
      },
    },
  );
  return tests;
}

// ---------------------------------------------------------------------------------------------------------------
// Autograd semantics

function autogradTests(): SpecialTest[] {
  return [
    {
      name: 'autograd/noGrad',
      run: clean(() => {
        const x = ops.ones([2], { requiresGrad: true });
        expect(isGradEnabled()).toBe(true);
        const y = noGrad(() => {
          expect(isGradEnabled()).toBe(false);
          return ops.mul(x, 2);
        });
        expect(isGradEnabled()).toBe(true);
        expect(y.gradNode).toBeNull();
        expect(y.tracksGrad).toBe(false);
        expect(() =>
          noGrad(() => {
            throw new Error('boom');
          }),
        ).toThrow('boom');
        expect(isGradEnabled()).toBe(true);
        // nested: the inner scope restores the outer state (off), not "on"
        noGrad(() => {
          noGrad(() => ops.mul(x, 3).dispose());
          expect(isGradEnabled()).toBe(false);
          const w = ops.mul(x, 4);
          expect(w.tracksGrad).toBe(false);
          w.dispose();
        });
        const z = ops.mul(x, 2);
        expect(z.tracksGrad).toBe(true);
        dispose([x, y, z]);
      }),
    },
    {
      name: 'autograd/detach',
      run: clean(async () => {
        const x = ops.tensor([1, -2, 3], [3], { requiresGrad: true });
        const d = x.detach();
        expect(d.requiresGrad).toBe(false);
        expect(d.tracksGrad).toBe(false);
        expect(await values(d)).toEqual([1, -2, 3]);
        tidy(() => ops.sum(ops.add(ops.mul(x, 2), ops.mul(x.detach(), 3))).backward());
        expect(await values(x.grad!)).toEqual([2, 2, 2]);
        dispose([x, d]);
      }),
    },
    {
      name: 'autograd/accumulate',
      run: clean(async () => {
        const x = ops.tensor([0.5, -1, 2], [3], { requiresGrad: true });
        // two micro-batches: gradients add up
        tidy(() => ops.sum(ops.mul(x, ops.tensor([1, 2, 3]))).backward());
        tidy(() => ops.sum(ops.mul(x, ops.tensor([10, 20, 30]))).backward());
        expect(await values(x.grad!)).toEqual([11, 22, 33]);
        // the same graph twice
        x.zeroGrad();
        expect(x.grad).toBeNull();
        tidy(() => {
          const loss = ops.sum(ops.square(x));
          loss.backward();
          loss.backward();
        });
        expect(await values(x.grad!)).toEqual([2, -4, 8]);
        x.dispose();
      }),
    },
    {
      name: 'autograd/branches',
      run: clean(async () => {
        const xs = [0.3, -0.7, 1.1];
        const x = ops.tensor(xs, [3], { requiresGrad: true });
        tidy(() => ops.sum(ops.add(ops.add(ops.mul(x, x), ops.exp(x)), x)).backward());
        const g = await values(x.grad!);
        xs.forEach((v, i) => {
          const fv = Math.fround(v);
          expect(Math.abs(g[i] - (2 * fv + Math.exp(fv) + 1))).toBeLessThan(1e-5);
        });
        x.dispose();
      }),
    },
    {
      name: 'autograd/seed',
      run: clean(async () => {
        const x = ops.ones([2, 2], { requiresGrad: true });
        tidy(() =>
          ops.mul(x, 3).backward(
            ops.tensor([
              [1, 2],
              [3, 4],
            ]),
          ),
        );
        expect(await values(x.grad!)).toEqual([3, 6, 9, 12]);
        x.dispose();
      }),
    },
    {
      name: 'autograd/leaf-backward',
      run: clean(async () => {
        const x = ops.scalar(4, { requiresGrad: true });
        x.backward();
        expect(await values(x.grad!)).toEqual([1]);
        x.dispose();
      }),
    },
    {
      name: 'autograd/frozen-costs-nothing',
      run: clean(async () => {
        const gen = new Generator(21);
        const x = randn([4, 8], 0, 1, { generator: gen });
        const w = randn([6, 8], 0, 1, { generator: gen });
        const bias = randn([6], 0, 1, { generator: gen, requiresGrad: true });
        const backwardCost = (trainWeight: boolean): number => {
          w.requiresGrad = trainWeight;
          return tidy(() => {
            const loss = ops.sum(ops.gelu(ops.linear(x, w, bias)));
            const start = nextTensorId();
            loss.backward();
            return nextTensorId() - start;
          });
        };
        const frozen = backwardCost(false);
        expect(w.grad).toBeNull();
        expect(x.grad).toBeNull();
        const trained = backwardCost(true);
        expect(w.grad).not.toBeNull();
        expect(frozen).toBeLessThan(trained);
        dispose([x, w, bias]);
      }),
    },
    {
      name: 'autograd/keep-and-tidy',
      run: clean(() => {
        const box: { a?: Tensor; kept?: Tensor; inner?: Tensor } = {};
        const out = tidy(() => {
          box.a = ops.ones([2]);
          box.kept = keep(ops.ones([3]));
          return { c: ops.ones([4]), list: [ops.zeros([1]), ops.zeros([2])] };
        });
        expect(box.a!.isDisposed).toBe(true);
        expect(box.kept!.isDisposed).toBe(false);
        expect(out.c.isDisposed).toBe(false);
        expect(out.list.every((t) => !t.isDisposed)).toBe(true);
        // nested scopes: what the inner scope returns belongs to the outer one
        tidy(() => {
          box.inner = tidy(() => ops.ones([2]));
          expect(box.inner.isDisposed).toBe(false);
        });
        expect(box.inner!.isDisposed).toBe(true);
        dispose([box.kept!, out]);
      }),
    },
    {
      name: 'autograd/tidy-async',
      run: clean(async () => {
        const box: { a?: Tensor } = {};
        const out = await tidy(async () => {
          box.a = ops.ones([3]);
          const v = await box.a.data();
          return ops.mul(box.a, v[0] + 1);
        });
        expect(box.a!.isDisposed).toBe(true);
        expect(await values(out)).toEqual([2, 2, 2]);
        out.dispose();
      }),
    },
    {
      name: 'autograd/grads-outlive-scope',
      run: clean(async () => {
        const w = ops.tensor([1, 2], [2], { requiresGrad: true });
        tidy(() => ops.sum(ops.mul(w, w)).backward());
        expect(w.grad!.isDisposed).toBe(false);
        expect(await values(w.grad!)).toEqual([2, 4]);
        w.dispose();
        // disposing the parameter disposes its gradient
      }),
    },
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Memory

function memoryTests(): SpecialTest[] {
  return [
    {
      name: 'memory/tidy-loop-flat',
      run: clean(async () => {
        const gen = new Generator(31);
        const w1 = randn([8, 6], 0, 0.5, { generator: gen, requiresGrad: true });
        const b1 = ops.zeros([8], { requiresGrad: true });
        const ln = ops.ones([8], { requiresGrad: true });
        const w2 = randn([4, 8], 0, 0.5, { generator: gen, requiresGrad: true });
        const x = randn([2, 5, 6], 0, 1, { generator: gen });
        const y = ops.tensor(new Int32Array([0, 3, 1, -100, 2, 2, 1, 0, 3, 3]), [2, 5]);
        const step = () =>
          tidy(() => {
            let h = ops.gelu(ops.layerNorm(ops.linear(x, w1, b1), ln));
            h = ops.dropout(h, 0.1, { generator: gen });
            const logits = ops.linear(h, w2);
            const attn = ops.scaledDotProductAttention(logits, logits, logits, { causal: true });
            const loss = ops.add(ops.crossEntropy(logits, y), ops.mean(ops.square(attn)));
            loss.backward();
            return loss.detach();
          });
        const losses: number[] = [];
        let snapshot: ReturnType<typeof memory> | null = null;
        for (let it = 0; it < 5; it++) {
          const l = step();
          losses.push(await l.item());
          l.dispose();
          if (it === 0) snapshot = memory();
          else expectMemory(snapshot!, `iteration ${it}`);
        }
        expect(losses.every(Number.isFinite)).toBe(true);
        dispose([w1, b1, ln, w2, x, y]);
      }),
    },
    {
      name: 'memory/noGrad-composite-frees-intermediates',
      run: clean(() => {
        const x = ops.ones([2, 8]);
        const w = ops.ones([8]);
        const before = memory();
        const y = noGrad(() => ops.layerNorm(x, w, w));
        const after = memory();
        expect(after.tensors - before.tensors).toBe(1);
        expect(after.buffers - before.buffers).toBe(1);
        dispose([x, w, y]);
      }),
    },
    {
      name: 'memory/graph-freed-with-output',
      run: clean(() => {
        const x = ops.ones([2, 8], { requiresGrad: true });
        const before = memory();
        // outside any scope: the composite's intermediates live exactly as long as its output (mean is composed
        // on every backend; layerNorm is one fused kernel where the backend has it)
        const y = ops.mean(x, -1);
        expect(memory().tensors).toBeGreaterThan(before.tensors + 1);
        y.dispose();
        expectMemory(before, 'after disposing the output');
        x.dispose();
      }),
    },
    {
      name: 'memory/views-share-storage',
      run: clean(() => {
        const x = ops.ones([2, 6]);
        const before = memory();
        const r = ops.reshape(x, [3, 4]);
        const d = x.detach();
        const after = memory();
        expect(after.tensors - before.tensors).toBe(2);
        expect(after.buffers - before.buffers).toBe(0);
        x.dispose();
        // storage lives while a view does
        expect(memory().buffers).toBe(after.buffers);
        dispose([r, d]);
      }),
    },
    {
      name: 'memory/backward-frees-intermediate-grads',
      run: clean(() => {
        const x = ops.ones([3, 4], { requiresGrad: true });
        const w = ops.ones([5, 4], { requiresGrad: true });
        tidy(() => {
          const loss = ops.mean(ops.softmax(ops.tanh(ops.linear(x, w))));
          const before = memory();
          loss.backward();
          const after = memory();
          // only the two leaf gradients remain
          expect(after.tensors - before.tensors).toBe(2);
          expect(after.buffers - before.buffers).toBe(2);
        });
        dispose([x, w]);
      }),
    },
  ];
}

function backendTests(): SpecialTest[] {
  return [
    {
      name: 'backend/kernels-complete',
      run: () => {
        expect(missingKernels(getBackend().name)).toEqual([]);
      },
    },
    {
      name: 'backend/readback',
      run: clean(async () => {
        const be = getBackend();
        const f = ops.tensor([1.5, -2], [2]);
        const i = ops.tensor(new Int32Array([-7, 2147483647]));
        const b = ops.tensor(new Uint8Array([1, 0, 1]));
        const fv = await f.data();
        const iv = await i.data();
        const bv = await b.data();
        expect(fv).toBeInstanceOf(Float32Array);
        expect(iv).toBeInstanceOf(Int32Array);
        expect(bv).toBeInstanceOf(Uint8Array);
        expect(Array.from(fv)).toEqual([1.5, -2]);
        expect(Array.from(iv)).toEqual([-7, 2147483647]);
        expect(Array.from(bv)).toEqual([1, 0, 1]);
        // a readback is a copy: changing it does not change the tensor
        fv[0] = 100;
        expect(Array.from(await f.data())).toEqual([1.5, -2]);
        expect(await f.toArray()).toEqual([1.5, -2]);
        const s = ops.scalar(3);
        expect(await s.item()).toBe(3);
        s.dispose();
        await be.flush();
        expect(memory().byBackend[be.name]?.buffers ?? 0).toBeGreaterThanOrEqual(3);
        dispose([f, i, b]);
      }),
    },
  ];
}

export function specialTests(): SpecialTest[] {
  return [
    ...backendTests(),
    ...randomTests(),
    ...dropoutTests(),
    ...errorTests(),
    ...autogradTests(),
    ...memoryTests(),
  ];
}

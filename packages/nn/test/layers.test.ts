import { erf, Generator, randn, sum, type Tensor, tensor, tidy, transpose } from '@peftjs/tensor';
import { describe, expect, it } from 'vitest';
import {
  ACTIVATION_NAMES,
  activation,
  Conv1D,
  Embedding,
  GELU,
  LayerNorm,
  Linear,
  QuickGELU,
  RMSNorm,
  withoutInit,
} from '../src/index.js';

async function values(t: Tensor): Promise<number[]> {
  return Array.from(await t.data());
}

function expectClose(ours: readonly number[], ref: readonly number[], tol: number): void {
  expect(ours.length).toBe(ref.length);
  const scale = Math.max(...ref.map(Math.abs), 1e-6);
  const err = Math.max(...ours.map((v, i) => Math.abs(v - ref[i])));
  expect(err / scale).toBeLessThanOrEqual(tol);
}

describe('Linear and Conv1D', () => {
  it('Linear is x·Wᵀ + b with W [out, in], initialised like torch.nn.Linear', async () => {
    const lin = new Linear(3, 2, { generator: new Generator(1) });
    expect(lin.weight.shape).toEqual([2, 3]);
    expect(lin.bias!.shape).toEqual([2]);
    const bound = 1 / Math.sqrt(3);
    for (const v of [...(await values(lin.weight)), ...(await values(lin.bias!))])
      expect(Math.abs(v)).toBeLessThanOrEqual(bound);
    const w = await values(lin.weight);
    const b = await values(lin.bias!);
    const x = [0.5, -1, 2];
    const y = await values(tidy(() => lin.forward(tensor([x]))));
    const ref = [0, 1].map((o) => b[o] + x.reduce((s, xi, i) => s + xi * w[o * 3 + i], 0));
    expectClose(y, ref, 1e-6);
    expect(new Linear(3, 2, { bias: false }).bias).toBeNull();
    // Hugging Face's _init_weights: N(0, initializer_range) weight, zero bias
    const hf = new Linear(64, 64, { initStd: 0.02, generator: new Generator(3) });
    const hw = await values(hf.weight);
    const sd = Math.sqrt(hw.reduce((a, v) => a + v * v, 0) / hw.length);
    expect(sd).toBeGreaterThan(0.018);
    expect(sd).toBeLessThan(0.022);
    expect((await values(hf.bias!)).every((v) => v === 0)).toBe(true);
    lin.dispose();
  });

  it('Conv1D with W = Linear.Wᵀ gives the same outputs, and its gradient is the transposed Linear gradient', async () => {
    const gen = new Generator(4);
    const lin = new Linear(5, 3, { generator: gen });
    const conv = new Conv1D(5, 3, { generator: gen });
    expect(conv.weight.shape).toEqual([5, 3]);
    expect([conv.nx, conv.nf]).toEqual([5, 3]);
    conv.loadStateDict({ weight: tidy(() => transpose(lin.weight)), bias: lin.bias! });
    conv.requiresGrad_(true);
    const x = randn([2, 4, 5], 0, 1, { generator: gen });
    const yl = tidy(() => {
      const y = lin.forward(x);
      sum(y.square()).backward();
      return y;
    });
    const yc = tidy(() => {
      const y = conv.forward(x);
      sum(y.square()).backward();
      return y;
    });
    expectClose(await values(yc), await values(yl), 1e-6);
    expectClose(await values(conv.weight.grad!), await values(tidy(() => transpose(lin.weight.grad!))), 1e-6);
    expectClose(await values(conv.bias!.grad!), await values(lin.bias!.grad!), 1e-6);
    lin.dispose();
    conv.dispose();
  });
});

describe('Embedding', () => {
  it('looks rows up by i32 id', async () => {
    const e = new Embedding(6, 2, { generator: new Generator(2) });
    const w = await values(e.weight);
    const y = await values(
      tidy(() =>
        e.forward(
          tensor(
            [
              [5, 0],
              [2, 2],
            ],
            [2, 2],
            { dtype: 'i32' },
          ),
        ),
      ),
    );
    expect(y).toEqual([w[10], w[11], w[0], w[1], w[4], w[5], w[4], w[5]]);
    e.dispose();
  });

  it('paddingIdx: the row starts at zero and never receives a gradient (as torch)', async () => {
    const e = new Embedding(5, 3, { paddingIdx: 1, generator: new Generator(5) });
    expect((await values(e.weight)).slice(3, 6)).toEqual([0, 0, 0]);
    // give the padding row non-zero values (as a checkpoint may), then check forward values and gradient
    const w = tidy(() => randn([5, 3], 0, 1, { generator: new Generator(6) }));
    e.loadStateDict({ weight: w });
    const wv = await values(w);
    const ids = tensor([1, 3, 1, 0], [4], { dtype: 'i32' });
    const y = tidy(() => {
      const out = e.forward(ids);
      sum(out.mul(tensor([1, 2, 3], [3]))).backward();
      return out;
    });
    expect(await values(y)).toEqual([...wv.slice(3, 6), ...wv.slice(9, 12), ...wv.slice(3, 6), ...wv.slice(0, 3)]);
    const g = await values(e.weight.grad!);
    expect(g.slice(3, 6)).toEqual([0, 0, 0]); // padding row
    expect(g.slice(9, 12)).toEqual([1, 2, 3]);
    expect(g.slice(0, 3)).toEqual([1, 2, 3]);
    expect(g.slice(6, 9)).toEqual([0, 0, 0]);
    expect(new Embedding(4, 2, { paddingIdx: -1 }).paddingIdx).toBe(3);
    expect(() => new Embedding(4, 2, { paddingIdx: 4 })).toThrow(/out of range/);
    e.dispose();
    ids.dispose();
  });
});

describe('normalisation', () => {
  const rows = [
    [0.3, -1.2, 2.5, 0.7],
    [10, 10.5, 9.5, 10.25],
  ];

  it('LayerNorm matches a float64 reference (biased variance, eps inside the root)', async () => {
    const ln = new LayerNorm(4, { eps: 1e-5 });
    ln.loadStateDict({ weight: tensor([1, 2, 0.5, -1]), bias: tensor([0, 0.1, 0.2, 0.3]) });
    const y = await values(tidy(() => ln.forward(tensor(rows))));
    const ref = rows.flatMap((r) => {
      const mu = r.reduce((a, b) => a + b) / 4;
      const v = r.reduce((a, b) => a + (b - mu) ** 2, 0) / 4;
      return r.map((x, i) => ((x - mu) / Math.sqrt(v + 1e-5)) * [1, 2, 0.5, -1][i] + [0, 0.1, 0.2, 0.3][i]);
    });
    expectClose(y, ref, 1e-5);
    expect(new LayerNorm(4, { elementwiseAffine: false }).namedParameters()).toEqual([]);
    expect(new LayerNorm(4, { bias: false }).namedParameters().map(([n]) => n)).toEqual(['weight']);
  });

  it('RMSNorm matches LLaMA: x · rsqrt(mean(x²) + eps) · weight', async () => {
    const n = new RMSNorm(4, { eps: 1e-6 });
    n.loadStateDict({ weight: tensor([1, 2, 0.5, -1]) });
    const y = await values(tidy(() => n.forward(tensor(rows))));
    const ref = rows.flatMap((r) => {
      const ms = r.reduce((a, b) => a + b * b, 0) / 4;
      return r.map((x, i) => (x / Math.sqrt(ms + 1e-6)) * [1, 2, 0.5, -1][i]);
    });
    expectClose(y, ref, 1e-6);
  });
});

describe('activations', () => {
  const xs = [-3, -1, -0.2, 0, 0.5, 2, 4];
  it('GELU exact and tanh forms, quick_gelu', async () => {
    const exact = await values(tidy(() => new GELU().forward(tensor(xs))));
    expectClose(
      exact,
      xs.map((x) => 0.5 * x * (1 + erf(x / Math.SQRT2))),
      1e-6,
    );
    const approx = await values(tidy(() => new GELU('tanh').forward(tensor(xs))));
    const c = Math.sqrt(2 / Math.PI);
    expectClose(
      approx,
      xs.map((x) => 0.5 * x * (1 + Math.tanh(c * (x + 0.044715 * x ** 3)))),
      1e-6,
    );
    const quick = await values(tidy(() => new QuickGELU().forward(tensor(xs))));
    expectClose(
      quick,
      xs.map((x) => x / (1 + Math.exp(-1.702 * x))),
      1e-6,
    );
  });

  it('activation() maps Hugging Face names and rejects unknown ones', async () => {
    expect(ACTIVATION_NAMES).toEqual(expect.arrayContaining(['gelu', 'gelu_new', 'silu', 'relu', 'tanh']));
    const run = async (name: string) => values(tidy(() => activation(name).forward(tensor(xs))));
    expectClose(
      await run('silu'),
      xs.map((x) => x / (1 + Math.exp(-x))),
      1e-6,
    );
    expectClose(
      await run('relu'),
      xs.map((x) => Math.max(x, 0)),
      0,
    );
    expectClose(await run('tanh'), xs.map(Math.tanh), 1e-6);
    expect(await run('gelu_new')).toEqual(await values(tidy(() => new GELU('tanh').forward(tensor(xs)))));
    expect(await run('linear')).toEqual(xs.map(Math.fround));
    expect(() => activation('gelu_10')).toThrow(/unsupported activation 'gelu_10'/);
  });
});

describe('withoutInit', () => {
  it('creates zero parameters (cheap when a checkpoint will replace them)', async () => {
    const lin = withoutInit(() => new Linear(3, 2));
    expect(await values(lin.weight)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(lin.weight.requiresGrad).toBe(true);
    const after = new Linear(3, 2);
    expect((await values(after.weight)).some((v) => v !== 0)).toBe(true);
  });
});

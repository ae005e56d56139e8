import { describe, expect, it } from 'vitest';
import {
  adamwStep,
  add,
  causalMask,
  div,
  sqrt,
  square,
  sub,
  dropout,
  Generator,
  maskedSoftmax,
  mul,
  randn,
  uniform,
  softmax,
  tensor,
  where,
  compare,
  stepStats,
  sum,
  sumSquares,
} from '../src/index.js';

// The fused kernels must round exactly like the compositions they replace (training trajectories must not move).
const LOWEST = -3.4028234663852886e38;
const bits = (t: { dataSync(): ArrayLike<number> }) => Array.from(t.dataSync());

describe('fused AdamW equals the composed ops bit for bit', () => {
  it('first step and a later step, with weight decay', () => {
    const p = randn([5, 9], 0, 1, { generator: new Generator(11) });
    const g = randn([5, 9], 0, 1, { generator: new Generator(12) });
    const o = { lr: 3e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 1 };
    const first = adamwStep(p, g, null, null, o);
    // the optimizer's ops as they were before the fused kernel
    const m1 = mul(g, 1 - o.beta1);
    const v1 = mul(square(g), 1 - o.beta2);
    const den1 = add(div(sqrt(v1), Math.sqrt(1 - o.beta2)), o.eps);
    const p1 = sub(mul(p, 1 - o.lr * o.weightDecay), mul(div(m1, den1), o.lr / (1 - o.beta1)));
    expect(bits(first.m)).toEqual(bits(m1));
    expect(bits(first.v)).toEqual(bits(v1));
    expect(bits(first.param)).toEqual(bits(p1));
    const g2 = randn([5, 9], 0, 1, { generator: new Generator(13) });
    const second = adamwStep(first.param, g2, first.m, first.v, { ...o, step: 2 });
    const m2 = add(mul(m1, o.beta1), mul(g2, 1 - o.beta1));
    const v2 = add(mul(v1, o.beta2), mul(square(g2), 1 - o.beta2));
    const den2 = add(div(sqrt(v2), Math.sqrt(1 - o.beta2 ** 2)), o.eps);
    const p2 = sub(mul(p1, 1 - o.lr * o.weightDecay), mul(div(m2, den2), o.lr / (1 - o.beta1 ** 2)));
    expect(bits(second.m)).toEqual(bits(m2));
    expect(bits(second.v)).toEqual(bits(v2));
    expect(bits(second.param)).toEqual(bits(p2));
  });
});

describe('fused CPU kernels equal their compositions bit for bit', () => {
  it('maskedSoftmax (causal + padding), forward and gradient', () => {
    const x = randn([2, 3, 6, 6], 0, 3, { generator: new Generator(1) });
    x.requiresGrad = true;
    const m = tensor(new Uint8Array([1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1]), [2, 1, 1, 6], { dtype: 'bool' });
    const w = randn([2, 3, 6, 6], 0, 1, { generator: new Generator(2) });
    const fused = maskedSoftmax(x, { scale: 0.37, causal: true, mask: m });
    mul(fused, w).sum().backward();
    const gFused = bits(x.grad!);
    x.zeroGrad();
    const composed = softmax(where(m, where(causalMask(6, 6), mul(x, 0.37), LOWEST), LOWEST));
    mul(composed, w).sum().backward();
    expect(bits(fused)).toEqual(bits(composed));
    expect(gFused).toEqual(bits(x.grad!));
  });

  it('dropout, forward and gradient', () => {
    const x = randn([7, 33], 0, 1, { generator: new Generator(3) });
    x.requiresGrad = true;
    const w = randn([7, 33], 0, 1, { generator: new Generator(4) });
    const y = dropout(x, 0.3, { generator: new Generator(9) });
    mul(y, w).sum().backward();
    const gFused = bits(x.grad!);
    x.zeroGrad();
    const u = uniform([7, 33], 0, 1, { generator: new Generator(9) }); // the same counters
    const composed = where(compare('ge', u, 0.3), mul(x, 1 / 0.7), 0);
    mul(composed, w).sum().backward();
    expect(bits(y)).toEqual(bits(composed));
    expect(gFused).toEqual(bits(x.grad!));
  });
});

describe('device-step kernels equal the host computations bit for bit', () => {
  it('sumSquares over many tensors equals chained add(acc, sum(square(x)))', () => {
    const xs = [[4, 7], [33], [2, 3, 5], [129, 3]].map((s, i) => randn(s, 0, 1, { generator: new Generator(20 + i) }));
    let acc = sum(square(xs[0]));
    for (const x of xs.slice(1)) acc = add(acc, sum(square(x)));
    expect(bits(sumSquares(xs))).toEqual(bits(acc));
    const seed = tensor([0.37]);
    expect(bits(sumSquares(xs, seed))).toEqual(
      bits(add(add(add(add(seed, sum(square(xs[0]))), sum(square(xs[1]))), sum(square(xs[2]))), sum(square(xs[3])))),
    );
  });

  it('a controlled AdamW step equals clipping with mul(grad, coef) and the plain step', () => {
    const p = randn([6, 5], 0, 1, { generator: new Generator(31) });
    const g = randn([6, 5], 0, 3, { generator: new Generator(32) });
    const m = randn([6, 5], 0, 1, { generator: new Generator(33) });
    const v = uniform([6, 5], 0.01, 2, { generator: new Generator(34) });
    const o = { lr: 3e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 7 };
    const sq = sumSquares(g);
    const norm = Math.fround(Math.sqrt(sq.dataSync()[0]));
    const coef = 1 / (norm + 1e-6);
    expect(coef).toBeLessThan(1);
    const table = tensor([o.lr / (1 - o.beta1 ** o.step), Math.sqrt(1 - o.beta2 ** o.step)]);
    const ctl = stepStats(sq, tensor([2.5]), table, null, { maxNorm: 1, sticky: true, skipBase: 0 });
    expect(ctl.dataSync()[0]).toBe(norm);
    const fused = adamwStep(p, g, m, v, o, ctl);
    const plain = adamwStep(p, mul(g, coef), m, v, o);
    expect(bits(fused.param)).toEqual(bits(plain.param));
    expect(bits(fused.m)).toEqual(bits(plain.m));
    expect(bits(fused.v)).toEqual(bits(plain.v));
  });
});

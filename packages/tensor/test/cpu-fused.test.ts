import { describe, expect, it } from 'vitest';
import { simdCalls } from '../src/backends/cpu/simd.js';
import { kernel, kernelOutputs } from '../src/ops/util.js';
import {
  adamwStep,
  add,
  addScaled,
  applyRotary,
  applyRotaryHeads,
  expand,
  scaledDotProductAttention,
  reshape,
  transpose,
  chunk,
  concat,
  layerNorm,
  mean,
  neg,
  rmsNorm,
  rsqrt,
  silu,
  siluMul,
  setCpuSimdElementwise,
  type Tensor,
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

// The compositions the fused norm / rotary / SwiGLU / LoRA kernels replace, exactly as the op layer composed them.
const composedRmsNorm = (x: Tensor, w: Tensor | null, eps: number) => {
  const y = mul(x, rsqrt(add(mean(square(x), -1, true), eps)));
  return w ? mul(y, w) : y;
};
const composedLayerNorm = (x: Tensor, w: Tensor | null, b: Tensor | null, eps: number) => {
  const c = sub(x, mean(x, -1, true));
  let y = mul(c, rsqrt(add(mean(square(c), -1, true), eps)));
  if (w) y = mul(y, w);
  if (b) y = add(y, b);
  return y;
};
const composedRotary = (x: Tensor, cos: Tensor, sin: Tensor) => {
  const [x1, x2] = chunk(x, 2, -1);
  return add(mul(x, cos), mul(concat([neg(x2), x1], -1), sin));
};

/** Forward values and the gradients of Σ out·w for `inputs`, by the fused op and by its composition. */
function compareBoth(inputs: Tensor[], fused: () => Tensor, composed: () => Tensor, seed: number) {
  const run = (f: () => Tensor) => {
    for (const t of inputs) t.zeroGrad();
    const y = f();
    const w = randn(y.shape, 0, 1, { generator: new Generator(seed) });
    mul(y, w).sum().backward();
    return { y: bits(y), grads: inputs.map((t) => (t.grad ? bits(t.grad) : null)) };
  };
  const a = run(fused);
  const b = run(composed);
  expect(a.y).toEqual(b.y);
  a.grads.forEach((g, i) => {
    expect(g).not.toBeNull();
    expect(g).toEqual(b.grads[i]);
  });
}

const trainable = (shape: number[], seed: number, mean = 0, std = 1) => {
  const t = randn(shape, mean, std, { generator: new Generator(seed) });
  t.requiresGrad = true;
  return t;
};

describe('fused norms, rotary, SwiGLU and addScaled equal their compositions bit for bit', () => {
  it('rmsNorm with a trainable weight (and rows longer than a GPU workgroup)', () => {
    const x = trainable([3, 5, 150], 21, 0.5, 2);
    const w = trainable([150], 22, 1, 0.5);
    compareBoth(
      [x, w],
      () => rmsNorm(x, w, 1e-5),
      () => composedRmsNorm(x, w, 1e-5),
      23,
    );
  });

  it('rmsNorm without a weight, and with a frozen weight', () => {
    const x = trainable([4, 16], 24);
    compareBoth(
      [x],
      () => rmsNorm(x, null, 0.1),
      () => composedRmsNorm(x, null, 0.1),
      25,
    );
    const w = randn([16], 1, 1, { generator: new Generator(26) });
    compareBoth(
      [x],
      () => rmsNorm(x, w),
      () => composedRmsNorm(x, w, 1e-6),
      27,
    );
    x.zeroGrad();
    rmsNorm(x, w).sum().backward();
    expect(w.grad).toBeNull();
  });

  it('layerNorm with weight and bias, weight only, bias only, plain', () => {
    const x = trainable([2, 7, 96], 31, 2, 0.5);
    const w = trainable([96], 32, 1, 1);
    const b = trainable([96], 33);
    compareBoth(
      [x, w, b],
      () => layerNorm(x, w, b),
      () => composedLayerNorm(x, w, b, 1e-5),
      34,
    );
    compareBoth(
      [x, w],
      () => layerNorm(x, w, null, 0.1),
      () => composedLayerNorm(x, w, null, 0.1),
      35,
    );
    compareBoth(
      [x, b],
      () => layerNorm(x, null, b),
      () => composedLayerNorm(x, null, b, 1e-5),
      36,
    );
    compareBoth(
      [x],
      () => layerNorm(x),
      () => composedLayerNorm(x, null, null, 1e-5),
      37,
    );
  });

  it('applyRotary with [T, D] tables over [B, H, T, D], and trainable tables', () => {
    const x = trainable([2, 3, 5, 8], 41);
    const cos = randn([5, 8], 0, 1, { generator: new Generator(42) });
    const sin = randn([5, 8], 0, 1, { generator: new Generator(43) });
    compareBoth(
      [x],
      () => applyRotary(x, cos, sin),
      () => composedRotary(x, cos, sin),
      44,
    );
    const c = trainable([1, 5, 8], 45);
    const s = trainable([1, 5, 8], 46);
    compareBoth(
      [x, c, s],
      () => applyRotary(x, c, s),
      () => composedRotary(x, c, s),
      47,
    );
  });

  it('applyRotaryHeads equals splitting the heads (reshape + transpose) then rotating', () => {
    const x = trainable([2, 5, 3 * 8], 48);
    const cos = randn([5, 8], 0, 1, { generator: new Generator(49) });
    const sin = randn([5, 8], 0, 1, { generator: new Generator(50) });
    const split = () => transpose(reshape(x, [2, 5, 3, 8]), 1, 2);
    compareBoth(
      [x],
      () => applyRotaryHeads(x, 3, cos, sin),
      () => composedRotary(split(), cos, sin),
      54,
    );
    const c = trainable([5, 8], 55);
    const s = trainable([5, 8], 56);
    compareBoth(
      [x, c, s],
      () => applyRotaryHeads(x, 3, c, s),
      () => composedRotary(split(), c, s),
      57,
    );
  });

  it('siluMul, forward and both gradients', () => {
    const g = trainable([6, 37], 51, 0, 3);
    const u = trainable([6, 37], 52);
    compareBoth(
      [g, u],
      () => siluMul(g, u),
      () => mul(silu(g), u),
      53,
    );
  });

  it('siluMul and addScaled at sizes that take the SIMD kernels: the same bits with the SIMD kernels off', () => {
    const g = trainable([8, 301], 71, 0, 3);
    const u = trainable([8, 301], 72);
    const base = trainable([8, 301], 73);
    for (const [inputs, fused, composed] of [
      [[g, u], () => siluMul(g, u), () => mul(silu(g), u)],
      [[base, u], () => addScaled(base, u, 1 / 3), () => add(base, mul(u, 1 / 3))],
    ] as [Tensor[], () => Tensor, () => Tensor][]) {
      compareBoth(inputs, fused, composed, 74);
      setCpuSimdElementwise(false);
      try {
        compareBoth(inputs, fused, composed, 74);
      } finally {
        setCpuSimdElementwise(true);
      }
    }
    const calls = { ...simdCalls };
    compareBoth(
      [g, u],
      () => siluMul(g, u),
      () => mul(silu(g), u),
      75,
    );
    expect(simdCalls.siluMul).toBeGreaterThan(calls.siluMul);
    expect(simdCalls.siluMulGrad).toBeGreaterThan(calls.siluMulGrad);
  });

  it('siluMulGradPair (both gradients in one pass) equals the two siluMulGrad parts, SIMD on and off', () => {
    for (const n of [7, 2049]) {
      const gate = randn([n], 0, 3, { generator: new Generator(81) });
      const up = randn([n], 0, 1, { generator: new Generator(82) });
      const dy = randn([n], 0, 1, { generator: new Generator(83) });
      for (const simd of [true, false]) {
        setCpuSimdElementwise(simd);
        try {
          const [dg, du] = kernelOutputs('siluMulGrad', 'siluMulGradPair', [gate, up, dy], {});
          expect(bits(dg)).toEqual(bits(kernel('siluMulGrad', 'siluMulGrad', [gate, up, dy], { part: 'gate' })));
          expect(bits(du)).toEqual(bits(kernel('siluMulGrad', 'siluMulGrad', [gate, up, dy], { part: 'up' })));
        } finally {
          setCpuSimdElementwise(true);
        }
      }
    }
  });

  it('addScaled, forward and both gradients', () => {
    const base = trainable([4, 9], 61);
    const x = trainable([4, 9], 62);
    compareBoth(
      [base, x],
      () => addScaled(base, x, 1 / 3),
      () => add(base, mul(x, 1 / 3)),
      63,
    );
  });
});

describe('grouped-query attention without repeated k / v', () => {
  // The scores, probabilities, output and dq are the same dot products as with repeat_kv: bit for bit. dk and dv sum
  // the n query heads inside one product (f32) instead of reducing n per-head products (float64 sum of f32 values):
  // a few ulps apart.
  it('equals repeat_kv: forward and dq bit for bit, dk and dv within a few ulps (causal + padding)', () => {
    const q = trainable([2, 4, 6, 8], 71);
    const k = trainable([2, 2, 6, 8], 72);
    const v = trainable([2, 2, 6, 8], 73);
    const mask = tensor(new Uint8Array([1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1]), [2, 1, 1, 6], { dtype: 'bool' });
    const repeat = (x: Tensor) => reshape(expand(reshape(x, [2, 2, 1, 6, 8]), [2, 2, 2, 6, 8]), [2, 4, 6, 8]);
    const w = randn([2, 4, 6, 8], 0, 1, { generator: new Generator(74) });
    const run = (f: () => Tensor) => {
      for (const t of [q, k, v]) t.zeroGrad();
      const y = f();
      mul(y, w).sum().backward();
      return { y: bits(y), dq: bits(q.grad!), dk: bits(k.grad!), dv: bits(v.grad!) };
    };
    const gqa = run(() => scaledDotProductAttention(q, k, v, { causal: true, mask, enableGqa: true }));
    const rep = run(() => scaledDotProductAttention(q, repeat(k), repeat(v), { causal: true, mask }));
    expect(gqa.y).toEqual(rep.y);
    expect(gqa.dq).toEqual(rep.dq);
    for (const key of ['dk', 'dv'] as const) {
      const scale = Math.max(...rep[key].map(Math.abs));
      const err = Math.max(...gqa[key].map((g, i) => Math.abs(g - rep[key][i])));
      expect(err / scale).toBeLessThan(5e-7);
    }
  });

  it('rejects query heads that are not a multiple of the kv heads', () => {
    const q = randn([1, 3, 2, 4]);
    const k = randn([1, 2, 2, 4]);
    expect(() => scaledDotProductAttention(q, k, k, { enableGqa: true })).toThrow(/multiple/);
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

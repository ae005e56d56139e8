import { describe, expect, it } from 'vitest';
import {
  Generator,
  type Tensor,
  crossEntropy,
  kaimingUniform,
  linear,
  memory,
  noGrad,
  randn,
  scaledDotProductAttention,
  sub,
  mul,
  tensor,
  tidy,
  uniform,
} from '../src/index.js';
import {
  Scalar,
  flat,
  linearT,
  logSoftmaxRow,
  mat,
  matmul,
  softmaxRow,
  sumAll,
  transpose,
} from './helpers/scalar-autograd.js';

/** Plain SGD written in the test: p ← p − lr·grad (in place by replacement). */
function sgdStep(params: Tensor[], lr: number): Tensor[] {
  return noGrad(() =>
    params.map((p) => {
      const next = tidy(() => sub(p, mul(p.grad!, lr)));
      next.requiresGrad = true;
      p.dispose();
      return next;
    }),
  );
}

function relClose(ours: readonly number[], ref: readonly number[], tol: number): void {
  ours.forEach((v, i) => {
    expect(Math.abs(v - ref[i]) / Math.max(Math.abs(ref[i]), 1e-6), `step ${i}: ${v} vs ${ref[i]}`).toBeLessThan(tol);
  });
}

describe('training from the ops (CPU, float32) against a float64 scalar-autograd reference', () => {
  it('a 2-layer MLP trained with SGD follows the float64 loss curve', async () => {
    const gen = new Generator(7);
    const n = 8;
    const x = randn([n, 4], 0, 1, { generator: gen });
    const labels = tensor([0, 1, 2, 1, 0, 2, 2, 1], [n], { dtype: 'i32' });
    let params = [
      kaimingUniform([16, 4], { generator: gen }),
      uniform([16], -0.5, 0.5, { generator: gen }),
      kaimingUniform([3, 16], { generator: gen }),
      uniform([3], -0.25, 0.25, { generator: gen }),
    ];
    for (const p of params) p.requiresGrad = true;

    // float64 reference with the same initial values
    const xs = mat(await x.data(), n, 4);
    const ys = Array.from(await labels.data());
    let ref = await Promise.all(params.map((p) => p.data()));
    const lr = 0.5;
    const steps = 6;

    const before = memory().tensors;
    const ours: number[] = [];
    for (let s = 0; s < steps; s++) {
      const loss = tidy(() => {
        const [w1, b1, w2, b2] = params;
        const l = crossEntropy(linear(linear(x, w1, b1).tanh(), w2, b2), labels);
        l.backward();
        return l;
      });
      ours.push(await loss.item());
      loss.dispose();
      params = sgdStep(params, lr);
    }
    expect(memory().tensors).toBe(before);

    const refLosses: number[] = [];
    for (let s = 0; s < steps; s++) {
      const w1 = mat(ref[0], 16, 4);
      const b1 = flat(mat(ref[1], 1, 16));
      const w2 = mat(ref[2], 3, 16);
      const b2 = flat(mat(ref[3], 1, 3));
      const h = linearT(xs, w1, b1).map((r) => r.map((v) => v.tanh()));
      const logits = linearT(h, w2, b2);
      const loss = sumAll(logits.map((row, i) => logSoftmaxRow(row)[ys[i]].mul(-1))).div(n);
      loss.backward();
      refLosses.push(loss.value);
      const all = [flat(w1), b1, flat(w2), b2];
      ref = all.map((ps) => Float64Array.from(ps, (p) => p.value - lr * p.grad)) as unknown as typeof ref;
    }
    relClose(ours, refLosses, 1e-5);
    expect(ours[steps - 1]).toBeLessThan(ours[0] * 0.8);
    for (const p of params) p.dispose();
    x.dispose();
    labels.dispose();
  });

  it('a single-head causal attention block trained with SGD follows the float64 loss curve', async () => {
    const gen = new Generator(11);
    const T = 5;
    const D = 6;
    const x = randn([T, D], 0, 1, { generator: gen });
    const target = randn([T, D], 0, 1, { generator: gen });
    let params = [0, 1, 2, 3].map(() => kaimingUniform([D, D], { generator: gen }));
    for (const p of params) p.requiresGrad = true;
    const xs = mat(await x.data(), T, D);
    const ts = flat(mat(await target.data(), T, D)).map((v) => v.value);
    let ref = await Promise.all(params.map((p) => p.data()));
    const lr = 0.2;
    const steps = 6;

    const ours: number[] = [];
    for (let s = 0; s < steps; s++) {
      const loss = tidy(() => {
        const [wq, wk, wv, wo] = params;
        const [q, k, v] = [wq, wk, wv].map((w) => linear(x, w).reshape([1, T, D]));
        const attn = scaledDotProductAttention(q, k, v, { causal: true }).reshape([T, D]);
        const out = linear(attn, wo);
        const l = out.sub(target).square().mean();
        l.backward();
        return l;
      });
      ours.push(await loss.item());
      loss.dispose();
      params = sgdStep(params, lr);
    }

    const refLosses: number[] = [];
    for (let s = 0; s < steps; s++) {
      const [wq, wk, wv, wo] = ref.map((r) => mat(r, D, D));
      const q = linearT(xs, wq);
      const k = linearT(xs, wk);
      const v = linearT(xs, wv);
      const scores = matmul(q, transpose(k)).map((row) => row.map((z) => z.mul(1 / Math.sqrt(D))));
      const probs = scores.map((row, i) => {
        const visible = softmaxRow(row.slice(0, i + 1));
        return row.map((_, j) => (j <= i ? visible[j] : new Scalar(0)));
      });
      const out = linearT(matmul(probs, v), wo);
      const loss = sumAll(flat(out).map((o, i) => o.sub(ts[i]).mul(o.sub(ts[i])))).div(T * D);
      loss.backward();
      refLosses.push(loss.value);
      ref = [wq, wk, wv, wo].map((w) =>
        Float64Array.from(flat(w), (p) => p.value - lr * p.grad),
      ) as unknown as typeof ref;
    }
    relClose(ours, refLosses, 1e-5);
    expect(ours[steps - 1]).toBeLessThan(ours[0]);
    for (const p of params) p.dispose();
  });
});

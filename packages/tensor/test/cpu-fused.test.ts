import { describe, expect, it } from 'vitest';
import {
  causalMask,
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
} from '../src/index.js';

// The fused kernels must round exactly like the compositions they replace (training trajectories must not move).
const LOWEST = -3.4028234663852886e38;
const bits = (t: { dataSync(): ArrayLike<number> }) => Array.from(t.dataSync());

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

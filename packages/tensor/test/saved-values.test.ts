import { describe, expect, it } from 'vitest';
import { add, composite, exp, memory, mul, sum, tensor, tidy } from '../src/index.js';

// composite() frees, at its end, the storage of intermediates whose values no recorded gradient reads; gradients
// stay exact, and values a gradient does read stay alive.
describe('intermediates no gradient reads are freed early', () => {
  it('frees x + 1 under a product with a constant, keeps exp(x)', () => {
    tidy(() => {
      const x = tensor(
        Array.from({ length: 1000 }, (_, i) => i / 1000),
        [1000],
      );
      x.requiresGrad = true;
      const before = memory().bytes;
      // add's output: mul by a constant reads only the constant → freed. exp's output: its gradient reads it → kept.
      const y = composite(() => mul(exp(add(x, 1)), 3));
      const held = memory().bytes - before;
      // y (4000 B) + exp output (4000 B) + constants; not add's 4000 B
      expect(held).toBeLessThan(3 * 4000);
      expect(held).toBeGreaterThanOrEqual(2 * 4000);
      sum(y).backward();
      const g = x.grad!.dataSync();
      for (const i of [0, 500, 999]) expect(g[i]).toBeCloseTo(3 * Math.exp(i / 1000 + 1), 4);
    });
  });
});

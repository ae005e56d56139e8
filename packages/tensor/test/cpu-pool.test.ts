import { describe, expect, it } from 'vitest';
import { full, initBackend, matmul, slice, sum, tensor } from '../src/index.js';
import type { CpuBackend } from '../src/backends/cpu/backend.js';

// The CPU backend reuses released arrays for later outputs of the same size: every reused output must start zeroed,
// exactly like a fresh allocation (padSlice's and scatterAdd's gradients write only part of their output).
describe('CPU array pool', () => {
  it('reuses a released array, zeroed, for a slice gradient of the same size', async () => {
    const be = (await initBackend('cpu')) as CpuBackend;
    const before = full([1024], 7);
    const x = tensor(
      Array.from({ length: 1024 }, (_, i) => i),
      [1024],
    );
    x.requiresGrad = true;
    before.dispose(); // its 1024-element array goes to the pool
    const y = sum(slice(x, [10], [4]));
    y.backward(); // the gradient of slice is padSlice: zeros of [1024] with ones at 10..13
    const g = Array.from(x.grad!.dataSync());
    expect(g.filter((v) => v !== 0).length).toBe(4);
    expect(g.slice(10, 14)).toEqual([1, 1, 1, 1]);
    expect(g.reduce((a, b) => a + b, 0)).toBe(4);
    x.dispose();
    y.dispose();
    be.purgePool();
  });

  it('keeps results exact across many reuse cycles', () => {
    const a = tensor(
      Array.from({ length: 32 * 32 }, (_, i) => (i % 7) - 3),
      [32, 32],
    );
    const first = Array.from(matmul(a, a).dataSync());
    for (let r = 0; r < 5; r++) {
      const junk = full([32, 32], r + 100);
      junk.dispose();
      const c = matmul(a, a);
      expect(Array.from(c.dataSync())).toEqual(first);
      c.dispose();
    }
    a.dispose();
  });
});

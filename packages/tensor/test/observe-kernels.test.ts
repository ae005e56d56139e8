import { describe, expect, it } from 'vitest';
import { add, matmul, observeKernels, tensor } from '../src/index.js';

describe('observeKernels', () => {
  it('sees each kernel call with its inputs and a duration, and nothing once removed', async () => {
    const seen: { name: string; shapes: number[][]; ms: number }[] = [];
    const a = tensor(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]);
    const b = tensor(Float32Array.of(1, 0, 0, 1, 1, 1), [3, 2]);
    observeKernels((name, inputs, ms) => seen.push({ name, shapes: inputs.map((i) => [...(i?.shape ?? [])]), ms }));
    const c = matmul(a, b);
    observeKernels(null);
    const d = add(c, c);
    expect(Array.from(await d.data())).toEqual([8, 10, 20, 22]);
    const mm = seen.filter((s) => s.name === 'matmul');
    expect(mm.length).toBe(1);
    expect(mm[0].shapes.slice(0, 2).map((s) => s.slice(-2))).toEqual([
      [2, 3],
      [3, 2],
    ]);
    expect(mm[0].ms).toBeGreaterThanOrEqual(0);
    expect(seen.some((s) => s.name === 'binary')).toBe(false);
    for (const t of [a, b, c, d]) t.dispose();
  });
});

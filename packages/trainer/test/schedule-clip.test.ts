import { describe, expect, it } from 'vitest';
import { clipGradNorm, constantSchedule, cosineSchedule, linearSchedule, scheduleByName } from '../src/index.js';
import { freeParam, lcg } from './helpers/refs.js';

describe('learning-rate schedules (hand-computed, transformers semantics)', () => {
  it('constant with warmup 4', () => {
    const s = constantSchedule({ warmupSteps: 4 });
    expect([0, 1, 2, 3, 4, 5, 100].map(s)).toEqual([0, 0.25, 0.5, 0.75, 1, 1, 1]);
    expect(constantSchedule()(0)).toBe(1);
  });
  it('linear: warmup 2, 10 steps', () => {
    const s = linearSchedule({ warmupSteps: 2, totalSteps: 10 });
    // warmup: step/2; then (10 - step) / 8
    expect([0, 1, 2, 3, 6, 9, 10, 12].map(s)).toEqual([0, 0.5, 1, 7 / 8, 0.5, 1 / 8, 0, 0]);
  });
  it('cosine: warmup 2, 10 steps', () => {
    const s = cosineSchedule({ warmupSteps: 2, totalSteps: 10 });
    // progress = (step - 2) / 8; 0.5 (1 + cos(pi progress))
    expect(s(0)).toBe(0);
    expect(s(1)).toBe(0.5);
    expect(s(2)).toBeCloseTo(1, 15);
    expect(s(4)).toBeCloseTo(0.8535533905932737, 15); // progress 1/4: (1 + 1/sqrt2) / 2
    expect(s(6)).toBeCloseTo(0.5, 15);
    expect(s(8)).toBeCloseTo(0.14644660940672627, 15); // (1 - 1/sqrt2) / 2
    expect(s(10)).toBeCloseTo(0, 15);
  });
  it('by name', () => {
    expect(scheduleByName('linear', { totalSteps: 4 })(1)).toBe(0.75);
    expect(() => scheduleByName('step' as 'linear', { totalSteps: 4 })).toThrow(/unknown schedule/);
  });
});

describe('clipGradNorm (float64 reference norm)', () => {
  function setup(scale: number) {
    const r = lcg(99);
    const a = freeParam('a', [0, 0, 0, 0, 0, 0], [2, 3]);
    const b = freeParam('b', [0, 0, 0, 0]);
    const ga = Array.from({ length: 6 }, () => r() * scale);
    const gb = Array.from({ length: 4 }, () => r() * scale);
    a.grad(ga);
    b.grad(gb);
    const norm = Math.sqrt([...ga, ...gb].reduce((s, x) => s + x * x, 0));
    return { a, b, ga, gb, norm };
  }

  it('returns the global norm and scales every gradient by maxNorm / (norm + 1e-6) when above', async () => {
    const { a, b, ga, gb, norm } = setup(3);
    expect(norm).toBeGreaterThan(1);
    const got = await clipGradNorm([a, b], 1);
    expect(Math.abs(got - norm) / norm).toBeLessThan(1e-6);
    const coef = 1 / (norm + 1e-6);
    const ca = await a.get().grad!.data();
    const cb = await b.get().grad!.data();
    for (const [i, g] of ga.entries()) expect(ca[i]).toBeCloseTo(g * coef, 6);
    for (const [i, g] of gb.entries()) expect(cb[i]).toBeCloseTo(g * coef, 6);
    const after = Math.sqrt([...ca, ...cb].reduce((s, x) => s + x * x, 0));
    expect(after).toBeCloseTo(1, 5);
  });

  it('leaves gradients below the limit untouched', async () => {
    const { a, ga, norm } = setup(0.1);
    expect(norm).toBeLessThan(1);
    const got = await clipGradNorm([a], 10);
    expect(got).toBeGreaterThan(0);
    expect([...(await a.get().grad!.data())]).toEqual([...Float32Array.from(ga)]);
  });
});

/** The Gaussian-process posterior and expected improvement against hand-computed values. */
import { describe, expect, it } from 'vitest';
import { expectedImprovement, GaussianProcess, matern52, normalCdf } from '../src/index.js';

const K = { variance: 1, lengthscale: 1, noise: 0 };
/** Matérn-5/2 at r with unit variance and lengthscale: (1 + √5r + 5r²/3)·e^(−√5r). */
const m52 = (r: number) => (1 + Math.sqrt(5) * r + (5 * r * r) / 3) * Math.exp(-Math.sqrt(5) * r);

describe('Gaussian process', () => {
  it('Matérn 5/2: k(0) = variance, k(1) = (1 + √5 + 5/3)e^(−√5) ≈ 0.5240', () => {
    expect(matern52(0, { ...K, variance: 2.5 })).toBe(2.5);
    expect(matern52(1, K)).toBeCloseTo(m52(1), 14);
    expect(m52(1)).toBeCloseTo(0.5239941, 6);
    expect(matern52(2, { ...K, lengthscale: 2 })).toBeCloseTo(m52(1), 14);
  });

  it('one observation y = 2 at 0: mean at 1 = 2·k(1), variance 1 − k(1)²', () => {
    const gp = new GaussianProcess([[0]], [2], K);
    const { mean, std } = gp.predict([1]);
    const k = m52(1);
    expect(mean).toBeCloseTo(2 * k, 12);
    expect(std).toBeCloseTo(Math.sqrt(1 - k * k), 12);
  });

  it('two noisy observations: the 2×2 closed form', () => {
    const noise = 0.1;
    const gp = new GaussianProcess([[0], [1]], [1, -1], { ...K, noise });
    const x = 0.25;
    const k01 = m52(1);
    const a = 1 + noise;
    const det = a * a - k01 * k01;
    // (K + σ²I)⁻¹ = [[a, −k01], [−k01, a]] / det
    const ks = [m52(0.25), m52(0.75)];
    const alpha = [(a * 1 - k01 * -1) / det, (-k01 * 1 + a * -1) / det];
    const mean = ks[0]! * alpha[0]! + ks[1]! * alpha[1]!;
    const quad = (a * ks[0]! * ks[0]! - 2 * k01 * ks[0]! * ks[1]! + a * ks[1]! * ks[1]!) / det;
    const p = gp.predict([x]);
    expect(p.mean).toBeCloseTo(mean, 12);
    expect(p.std).toBeCloseTo(Math.sqrt(1 - quad), 12);
  });

  it('without noise it interpolates: the mean at an observation is the observation, the std ~0', () => {
    const gp = new GaussianProcess(
      [
        [0, 0],
        [1, 0],
        [0, 2],
      ],
      [0.5, -1, 3],
      { ...K, noise: 1e-10 },
    );
    const p = gp.predict([1, 0]);
    expect(p.mean).toBeCloseTo(-1, 6);
    expect(p.std).toBeLessThan(1e-4);
  });
});

describe('expected improvement (minimisation)', () => {
  it('μ = best, σ = 1: φ(0) = 1/√(2π)', () => {
    expect(expectedImprovement(0, 1, 0)).toBeCloseTo(1 / Math.sqrt(2 * Math.PI), 7);
  });
  it('σ = 0: max(best − μ, 0)', () => {
    expect(expectedImprovement(-1, 0, 0)).toBe(1);
    expect(expectedImprovement(1, 0, 0)).toBe(0);
  });
  it('μ = 0.5, σ = 2, best = 1: 0.5·Φ(0.25) + 2·φ(0.25) ≈ 1.0726894', () => {
    const z = 0.25;
    const ref = 0.5 * 0.5987063256829237 + 2 * (Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI));
    expect(ref).toBeCloseTo(1.0726894, 6);
    expect(expectedImprovement(0.5, 2, 1)).toBeCloseTo(ref, 6);
    expect(normalCdf(0.25)).toBeCloseTo(0.5987063256829237, 6);
  });
});

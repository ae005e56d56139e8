/** Hyperparameters of the surrogate's kernel: variance · Matérn-5/2(‖x − x'‖ / lengthscale) + noise · δ. */
export interface GpKernel {
  variance: number;
  lengthscale: number;
  /** White-noise variance added on the training diagonal (the official code's `WhiteKernel`). */
  noise: number;
}

export const DEFAULT_KERNEL: GpKernel = { variance: 1, lengthscale: 1, noise: 1e-6 };

/** Matérn ν = 5/2 covariance at distance `r`. */
export function matern52(r: number, k: GpKernel): number {
  const s = (Math.sqrt(5) * r) / k.lengthscale;
  return k.variance * (1 + s + (s * s) / 3) * Math.exp(-s);
}

function dist(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

/** Lower Cholesky factor of a symmetric positive-definite matrix (row-major n×n). */
export function cholesky(a: readonly number[], n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      if (i === j) {
        if (!(s > 0)) throw new RangeError('cholesky: matrix is not positive definite (raise the kernel noise)');
        l[i * n + i] = Math.sqrt(s);
      } else l[i * n + j] = s / l[j * n + j]!;
    }
  }
  return l;
}

function forward(l: Float64Array, b: readonly number[], n: number): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * n + k]! * y[k]!;
    y[i] = s / l[i * n + i]!;
  }
  return y;
}

function backward(l: Float64Array, y: Float64Array, n: number): Float64Array {
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * x[k]!;
    x[i] = s / l[i * n + i]!;
  }
  return x;
}

/**
 * A Gaussian-process regressor with a fixed kernel and zero prior mean (callers standardise targets): posterior
 * mean k*ᵀ(K + σ²I)⁻¹y and variance k(x*, x*) − k*ᵀ(K + σ²I)⁻¹k*, through a Cholesky factor.
 */
export class GaussianProcess {
  private readonly l: Float64Array;
  private readonly alpha: Float64Array;

  constructor(
    readonly xs: readonly (readonly number[])[],
    ys: readonly number[],
    readonly kernel: GpKernel = DEFAULT_KERNEL,
  ) {
    const n = xs.length;
    if (n === 0 || ys.length !== n) throw new RangeError(`GaussianProcess: ${n} inputs and ${ys.length} targets`);
    const k = new Array<number>(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) k[i * n + j] = matern52(dist(xs[i]!, xs[j]!), kernel) + (i === j ? kernel.noise : 0);
    this.l = cholesky(k, n);
    this.alpha = backward(this.l, forward(this.l, ys, n), n);
  }

  /** Posterior mean and standard deviation at `x`. */
  predict(x: readonly number[]): { mean: number; std: number } {
    const n = this.xs.length;
    const ks = this.xs.map((xi) => matern52(dist(xi, x), this.kernel));
    let mean = 0;
    for (let i = 0; i < n; i++) mean += ks[i]! * this.alpha[i]!;
    const v = forward(this.l, ks, n);
    let vv = 0;
    for (let i = 0; i < n; i++) vv += v[i]! * v[i]!;
    const variance = Math.max(matern52(0, this.kernel) - vv, 0);
    return { mean, std: Math.sqrt(variance) };
  }
}

/** erf to 1.2e-7 everywhere (the complementary-error Chebyshev fit, Numerical Recipes' `erfcc`). */
function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - r : r - 1;
}

/** Standard normal density and distribution function. */
export const normalPdf = (z: number): number => Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
export const normalCdf = (z: number): number => 0.5 * (1 + erf(z / Math.SQRT2));

/**
 * Expected improvement for minimisation below `best`: (best − μ − ξ)·Φ(z) + σ·φ(z) with z = (best − μ − ξ)/σ;
 * max(best − μ − ξ, 0) when σ = 0.
 */
export function expectedImprovement(mean: number, std: number, best: number, xi = 0): number {
  const d = best - mean - xi;
  if (!(std > 0)) return Math.max(d, 0);
  const z = d / std;
  return d * normalCdf(z) + std * normalPdf(z);
}

import { mul, noGrad, sumSquares, type Tensor } from '@peftjs/tensor';
import type { ParamRef } from './params.js';

/**
 * Σ‖g‖² over the gradients of `params` as an f32 [1] tensor on their device (the backend's multi-tensor kernel: a
 * few passes for all of them), rounded as `sum(square(g))` added up in order; null when no parameter has a gradient.
 */
export function gradSumSquares(params: readonly ParamRef[]): Tensor | null {
  const grads = params.map((p) => p.get().grad).filter((g): g is Tensor => !!g);
  return grads.length ? sumSquares(grads) : null;
}

/** The global norm fround(√Σg²) from {@link gradSumSquares}'s value, as the `sqrt` op rounds it. */
export const normOfSumSquares = (sumsq: number): number => Math.fround(Math.sqrt(sumsq));

/** Scale every gradient by min(1, maxNorm / (norm + 1e-6)), as torch.nn.utils.clip_grad_norm_ does. */
export function clipGradsTo(params: readonly ParamRef[], norm: number, maxNorm: number): void {
  const coef = maxNorm / (norm + 1e-6);
  if (!(coef < 1)) return;
  noGrad(() => {
    for (const p of params) {
      const t = p.get();
      if (!t.grad) continue;
      const scaled = mul(t.grad, coef);
      t.grad.dispose();
      t.grad = scaled;
    }
  });
}

/**
 * torch.nn.utils.clip_grad_norm_: scale every gradient by min(1, maxNorm / (‖g‖₂ + 1e-6)) where ‖g‖₂ is the norm
 * of all gradients together. Returns the total norm before clipping (read back: one sync per call).
 */
export async function clipGradNorm(params: readonly ParamRef[], maxNorm: number): Promise<number> {
  const sq = gradSumSquares(params);
  if (!sq) return 0;
  const total = normOfSumSquares(await sq.item());
  sq.dispose();
  clipGradsTo(params, total, maxNorm);
  return total;
}

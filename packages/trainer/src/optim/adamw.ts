import { adamwStep, type Tensor } from '@peftjs/tensor';
import { Optimizer } from './optimizer.js';
import type { ParamRef } from './params.js';

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

/**
 * torch.optim.AdamW, step for step: decoupled weight decay p ← p·(1 − lr·wd) first, then
 * m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε).
 * Defaults as torch: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0.01.
 */
export class AdamW extends Optimizer {
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;

  constructor(params: readonly ParamRef[], opts: AdamWOptions = {}) {
    super(params, opts.lr ?? 1e-3);
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    const [b1, b2] = this.betas;
    if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1))
      throw new RangeError(`AdamW: betas must be in [0, 1), got ${this.betas}`);
    if (!(this.eps >= 0)) throw new RangeError(`AdamW: eps must be >= 0, got ${this.eps}`);
    if (!(this.weightDecay >= 0)) throw new RangeError(`AdamW: weight decay must be >= 0, got ${this.weightDecay}`);
  }

  protected update(param: Tensor, grad: Tensor, state: Record<string, Tensor>): Tensor {
    const [beta1, beta2] = this.betas;
    // fused kernels where the backend has them (3 passes instead of ~14 ops), rounding exactly as the ops do
    const next = adamwStep(param, grad, state.exp_avg ?? null, state.exp_avg_sq ?? null, {
      lr: this.lr,
      beta1,
      beta2,
      eps: this.eps,
      weightDecay: this.weightDecay,
      step: this.stepCount,
    });
    this.put(state, 'exp_avg', next.m);
    this.put(state, 'exp_avg_sq', next.v);
    return next.param;
  }
}

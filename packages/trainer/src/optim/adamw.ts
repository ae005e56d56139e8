import { add, div, mul, sqrt, square, sub, type Tensor } from '@peftjs/tensor';
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
    const [b1, b2] = this.betas;
    const t = this.stepCount;
    const decayed = this.weightDecay !== 0 ? mul(param, 1 - this.lr * this.weightDecay) : param;
    const m = state.exp_avg ? add(mul(state.exp_avg, b1), mul(grad, 1 - b1)) : mul(grad, 1 - b1);
    const v = state.exp_avg_sq ? add(mul(state.exp_avg_sq, b2), mul(square(grad), 1 - b2)) : mul(square(grad), 1 - b2);
    this.put(state, 'exp_avg', m);
    this.put(state, 'exp_avg_sq', v);
    const stepSize = this.lr / (1 - b1 ** t);
    const denom = add(div(sqrt(v), Math.sqrt(1 - b2 ** t)), this.eps);
    return sub(decayed, mul(div(m, denom), stepSize));
  }
}

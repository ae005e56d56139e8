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

  private control: Tensor | null = null;

  /**
   * One step decided on the device: `control` is a `stepStats` vector (see `@peftjs/tensor`) that clips the
   * gradients, picks the bias corrections and may skip the update, with nothing read back. The step counter
   * advances as if the step is applied; the caller takes back the skipped ones ({@link uncount}) once it has read
   * the verdicts. Needs the backend's fused adamw kernel.
   */
  stepControlled(control: Tensor): void {
    this.control = control;
    try {
      this.step();
    } finally {
      this.control = null;
    }
  }

  /** Take back `skipped` steps that {@link stepControlled} counted but the device skipped. */
  uncount(skipped: number): void {
    this.stepCount -= skipped;
    // a run whose every step was skipped has no moments yet (as when it never stepped): drop the zeros
    if (this.stepCount === 0) this.dispose();
  }

  /**
   * The bias-correction pairs [lr/(1−β₁ᵗ), √(1−β₂ᵗ)] for t = t0, t0 − 1, …, down to t0 − n + 1 (never below 1),
   * rounded to f32 as the kernel's constants are: the table a `stepStats` kernel picks from by skips so far.
   */
  biasCorrections(t0: number, n: number): Float32Array {
    const [b1, b2] = this.betas;
    const out = new Float32Array(2 * n);
    for (let d = 0; d < n; d++) {
      const t = Math.max(1, t0 - d);
      out[2 * d] = this.lr / (1 - b1 ** t);
      out[2 * d + 1] = Math.sqrt(1 - b2 ** t);
    }
    return out;
  }

  protected update(param: Tensor, grad: Tensor, state: Record<string, Tensor>): Tensor {
    const [beta1, beta2] = this.betas;
    // one fused kernel pass where the backend has it (instead of ~14 ops), rounding exactly as the ops do
    const opts = { lr: this.lr, beta1, beta2, eps: this.eps, weightDecay: this.weightDecay, step: this.stepCount };
    const next = adamwStep(
      param,
      grad,
      state.exp_avg ?? null,
      state.exp_avg_sq ?? null,
      opts,
      this.control ?? undefined,
    );
    this.put(state, 'exp_avg', next.m);
    this.put(state, 'exp_avg_sq', next.v);
    return next.param;
  }
}

import { hasKernel } from '../backend.js';
import { noGrad } from '../engine.js';
import { DTypeError, ShapeError } from '../errors.js';
import type { AdamWAttrs } from '../kernels.js';
import { shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { add, div, mul, sqrt, square, sub } from './elementwise.js';
import { backendOf, kernel } from './util.js';

/** Hyperparameters of {@link adamwStep} (torch.optim.AdamW's). */
export interface AdamWStepOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step number (bias corrections). */
  step: number;
}

/**
 * One torch.optim.AdamW update of one parameter: decoupled weight decay p·(1 − lr·wd) first, then
 * m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε). `m` and `v` are null
 * on the first step. Three fused elementwise kernels where the backend has them (instead of ~14 ops and their
 * constants), the same ops composed otherwise; both round identically. Runs without autograd. The caller owns
 * (and disposes) the three returned tensors.
 */
export function adamwStep(
  param: Tensor,
  grad: Tensor,
  m: Tensor | null,
  v: Tensor | null,
  o: AdamWStepOptions,
): { param: Tensor; m: Tensor; v: Tensor } {
  for (const t of [param, grad, m, v]) {
    if (t && t.dtype !== 'f32') throw new DTypeError('adamwStep', `expects f32 tensors, got ${t.dtype}`);
    if (t && !shapesEqual(t.shape, param.shape))
      throw new ShapeError('adamwStep', 'param, grad and state must share a shape', [param.shape, t.shape]);
  }
  if (!Number.isInteger(o.step) || o.step < 1) throw new RangeError(`adamwStep: step must be >= 1, got ${o.step}`);
  const backend = backendOf('adamwStep', [param, grad]);
  return noGrad(() => {
    if (hasKernel(backend.name, 'adamw')) {
      const attrs = (part: AdamWAttrs['part']): AdamWAttrs => ({ part, ...o });
      const m2 = kernel('adamwStep', 'adamw', m ? [grad, m] : [grad], attrs('m'), backend);
      const v2 = kernel('adamwStep', 'adamw', v ? [grad, v] : [grad], attrs('v'), backend);
      const p2 = kernel('adamwStep', 'adamw', [param, m2, v2], attrs('param'), backend);
      return { param: p2, m: m2, v: v2 };
    }
    const t = o.step;
    const tmp: Tensor[] = [];
    const k = (x: Tensor) => {
      tmp.push(x);
      return x;
    };
    const decayed = o.weightDecay !== 0 ? k(mul(param, 1 - o.lr * o.weightDecay)) : param;
    const m2 = m ? add(k(mul(m, o.beta1)), k(mul(grad, 1 - o.beta1))) : mul(grad, 1 - o.beta1);
    const g2 = k(square(grad));
    const v2 = v ? add(k(mul(v, o.beta2)), k(mul(g2, 1 - o.beta2))) : mul(g2, 1 - o.beta2);
    const stepSize = o.lr / (1 - o.beta1 ** t);
    const denom = k(add(k(div(k(sqrt(v2)), Math.sqrt(1 - o.beta2 ** t))), o.eps));
    const p2 = sub(decayed, k(mul(k(div(m2, denom)), stepSize)));
    for (const x of tmp) x.dispose();
    return { param: p2, m: m2, v: v2 };
  });
}

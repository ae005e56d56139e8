import { type Backend, hasKernel } from '../backend.js';
import { tidy } from '../autograd.js';
import { noGrad } from '../engine.js';
import { DTypeError, ShapeError } from '../errors.js';
import { STEP_STATS_SIZE } from '../kernels.js';
import { shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { add, div, mul, sqrt, square, sub } from './elementwise.js';
import { sum } from './reduce.js';
import { reshape } from './shape.js';
import { backendOf, kernel, kernelOutputs, scalarOn } from './util.js';

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
 * on the first step. One fused kernel pass where the backend has it (instead of ~14 ops and their constants), the
 * same ops composed otherwise; both round identically. With `control` (a {@link stepStats} vector; fused kernel
 * only) the gradient is clipped, the bias corrections are the control's and a skipped step returns the inputs'
 * values, all decided on the device. Runs without autograd. The caller owns (and disposes) the returned tensors.
 */
export function adamwStep(
  param: Tensor,
  grad: Tensor,
  m: Tensor | null,
  v: Tensor | null,
  o: AdamWStepOptions,
  control?: Tensor,
): { param: Tensor; m: Tensor; v: Tensor } {
  for (const t of [param, grad, m, v]) {
    if (t && t.dtype !== 'f32') throw new DTypeError('adamwStep', `expects f32 tensors, got ${t.dtype}`);
    if (t && !shapesEqual(t.shape, param.shape))
      throw new ShapeError('adamwStep', 'param, grad and state must share a shape', [param.shape, t.shape]);
  }
  if (!m !== !v) throw new Error('adamwStep: m and v are both given or both null');
  if (!Number.isInteger(o.step) || o.step < 1) throw new RangeError(`adamwStep: step must be >= 1, got ${o.step}`);
  const backend = backendOf('adamwStep', [param, grad]);
  if (control) checkStats('adamwStep', control);
  return noGrad(() => {
    if (hasKernel(backend.name, 'adamw')) {
      const inputs = [param, grad, ...(m && v ? [m, v] : []), ...(control ? [control] : [])];
      const [p2, m2, v2] = kernelOutputs('adamwStep', 'adamw', inputs, { ...o, controlled: !!control }, backend);
      return { param: p2, m: m2, v: v2 };
    }
    if (control) throw new Error(`adamwStep: backend '${backend.name}' has no fused adamw kernel for a control input`);
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

function checkStats(op: string, t: Tensor): void {
  if (t.dtype !== 'f32' || t.size !== STEP_STATS_SIZE)
    throw new ShapeError(op, `a step-stats vector is f32 [${STEP_STATS_SIZE}]`, [t.shape]);
}

/** Past this many elements {@link sumSquares} composes reductions (a one-workgroup pass would be slow). */
const FUSED_SUM_SQUARES_MAX = 1 << 20;

/**
 * acc + Σⱼ Σ xⱼ² over every element of each x, as f32 [1] (acc: f32 [1] or null): the backend's multi-tensor
 * kernel where it has one (one pass for many tensors), rounded exactly as chaining `add(acc, sum(square(x)))`,
 * which it composes otherwise (and for tensors past 2²⁰ elements). Without autograd. Over the gradients this is the
 * squared global norm.
 */
export function sumSquares(xs: Tensor | readonly Tensor[], acc: Tensor | null = null): Tensor {
  const list = Array.isArray(xs) ? (xs as readonly Tensor[]) : [xs as Tensor];
  for (const t of [...list, ...(acc ? [acc] : [])])
    if (t.dtype !== 'f32') throw new DTypeError('sumSquares', `expects f32 tensors, got ${t.dtype}`);
  if (acc && acc.size !== 1) throw new ShapeError('sumSquares', 'acc must hold one value', [acc.shape]);
  const backend = backendOf('sumSquares', acc ? [...list, acc] : list);
  const fused = hasKernel(backend.name, 'sumSquares');
  return noGrad(() => {
    let total = acc ? acc.detach() : null;
    let run: Tensor[] = [];
    const flush = () => {
      if (!run.length) return;
      const next = kernel('sumSquares', 'sumSquares', total ? [...run, total] : run, { acc: !!total }, backend);
      total?.dispose();
      total = next;
      run = [];
    };
    for (const x of list) {
      if (fused && x.size <= FUSED_SUM_SQUARES_MAX) {
        run.push(x);
        continue;
      }
      flush();
      const prev: Tensor | null = total;
      total = tidy(() => {
        const s = reshape(sum(square(x)), [1]);
        return prev ? add(prev, s) : s;
      });
      prev?.dispose();
    }
    flush();
    return total ?? tidy(() => reshape(scalarOn(backend, 0, 'f32'), [1]));
  });
}

/** Options of {@link stepStats}. */
export interface StepStatsOptions {
  /** Clip the global gradient norm to this (Infinity or null: never). */
  maxNorm: number | null;
  /** A skipped step makes every later step of the chain skip too. */
  sticky: boolean;
  /** The cumulative skip count (of `prev`'s chain) at which `table` starts. */
  skipBase: number;
}

/**
 * Decide a training step on the device, without reading anything back: from the summed squared gradients
 * (f32 [1]), the step's micro-batch losses (f32 [k]), a bias-correction table (f32 [2·c]: lr/(1−β₁ᵗ), √(1−β₂ᵗ) for
 * t = t₀, t₀ − 1, … , one pair per possible number of skips since `skipBase`) and the previous step's stats, it
 * makes the stats vector (layout {@link STEP_STATS}) that {@link adamwStep} takes as `control`: the norm, clip
 * coefficient, whether the step is skipped (a non-finite loss or norm) and the cumulative skip count.
 * Needs the backend's `stepStats` kernel ({@link hasDeviceStep}).
 */
export function stepStats(
  sumsq: Tensor,
  losses: Tensor,
  table: Tensor,
  prev: Tensor | null,
  o: StepStatsOptions,
): Tensor {
  if (sumsq.size !== 1) throw new ShapeError('stepStats', 'sumsq must hold one value', [sumsq.shape]);
  if (table.size < 2 || table.size % 2) throw new ShapeError('stepStats', 'table holds pairs', [table.shape]);
  if (prev) checkStats('stepStats', prev);
  for (const t of [sumsq, losses, table])
    if (t.dtype !== 'f32') throw new DTypeError('stepStats', `expects f32 tensors, got ${t.dtype}`);
  const inputs = prev ? [sumsq, losses, table, prev] : [sumsq, losses, table];
  const backend = backendOf('stepStats', inputs);
  if (!hasKernel(backend.name, 'stepStats')) throw new Error(`stepStats: backend '${backend.name}' lacks the kernel`);
  const maxNorm = o.maxNorm ?? Number.POSITIVE_INFINITY;
  if (!(maxNorm > 0)) throw new RangeError(`stepStats: maxNorm must be > 0, got ${maxNorm}`);
  return noGrad(() =>
    kernel('stepStats', 'stepStats', inputs, { maxNorm, sticky: o.sticky, skipBase: o.skipBase }, backend),
  );
}

/** Whether `backend` decides training steps on the device ({@link stepStats} and a controlled {@link adamwStep}). */
export function hasDeviceStep(backend: Backend): boolean {
  return ['adamw', 'sumSquares', 'stepStats'].every((k) => hasKernel(backend.name, k as 'adamw'));
}

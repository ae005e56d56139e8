import {
  abs,
  add,
  concat,
  keep,
  maskedFill,
  mean,
  mul,
  noGrad,
  reshape,
  sub,
  type Tensor,
  tensor,
  tidy,
} from '@peftjs/tensor';
import type { ResolvedAdaLoraConfig } from './config.js';
import type { AdaLoraLayer } from './layer.js';

/** What the budget schedule says for one step (PEFT's `RankAllocator.budget_schedule`). */
export interface BudgetStep {
  /** Number of triplets to keep over all modules. */
  budget: number;
  /** Whether this step masks down to the budget. */
  mask: boolean;
}

/**
 * PEFT's cubic budget schedule: the full budget (no masking) up to `tinit`, then
 * `int((init − target)·(1 − (t − tinit)/(T − tfinal − tinit))³ + target)` masking every `deltaT` steps, and the
 * target budget (always masking) after `T − tfinal`.
 */
export function budgetSchedule(
  step: number,
  initBudget: number,
  targetBudget: number,
  c: Pick<ResolvedAdaLoraConfig, 'tinit' | 'tfinal' | 'total_step' | 'deltaT'>,
): BudgetStep {
  if (step <= c.tinit) return { budget: initBudget, mask: false };
  if (step > c.total_step - c.tfinal) return { budget: targetBudget, mask: true };
  const mulCoeff = 1 - (step - c.tinit) / (c.total_step - c.tfinal - c.tinit);
  const budget = Math.trunc((initBudget - targetBudget) * mulCoeff ** 3 + targetBudget);
  return { budget, mask: step % c.deltaT === 0 };
}

/**
 * The masking threshold as `torch.kthvalue(scores, k)` gives it: the k-th smallest score (k from 1). Triplets whose
 * score is ≤ it are cut. k ≤ 0 cuts nothing (PEFT's kthvalue would reject it): −∞.
 */
export function kthSmallest(scores: ArrayLike<number>, k: number): number {
  if (k <= 0) return Number.NEGATIVE_INFINITY;
  if (k > scores.length) throw new RangeError(`kthSmallest: k=${k} exceeds the ${scores.length} scores`);
  const sorted = Float64Array.from(scores).sort();
  return sorted[k - 1];
}

/** Exponential moving averages of one parameter's sensitivity (`ipt`) and its uncertainty (`unc`). */
export interface Ema {
  ipt: Tensor;
  unc: Tensor;
}

/** One module's importance state for one adapter (held by the layer, freed with the adapter). */
export interface ModuleImportance {
  A?: Ema;
  B?: Ema;
  E?: Ema;
}

export function disposeImportance(m: ModuleImportance | undefined): void {
  if (!m) return;
  for (const e of [m.A, m.B, m.E]) {
    e?.ipt.dispose();
    e?.unc.dispose();
  }
}

/** The AdaLoRA layers of a model, by path. */
export type Layers = readonly (readonly [string, AdaLoraLayer])[];

/** Free every module's EMAs (PEFT's `reset_ipt`). */
export function resetImportance(layers: Layers, adapter: string): void {
  for (const [, layer] of layers) {
    disposeImportance(layer.importance.get(adapter));
    layer.importance.delete(adapter);
  }
}

/**
 * PEFT's `update_ipt`: for A, B and E of every module, sensitivity I = |p ⊙ ∇p|, Ī ← β1·Ī + (1−β1)·I and
 * Ū ← β2·Ū + (1−β2)·|I − Ī| (with the new Ī; both start at zero). Parameters without a gradient are skipped.
 */
export function updateImportance(layers: Layers, adapter: string, beta1: number, beta2: number): void {
  noGrad(() => {
    for (const [path, layer] of layers) {
      if (layer.rank(adapter) === 0) continue;
      const params = { A: layer.loraA(adapter), B: layer.loraB(adapter), E: layer.loraE(adapter) };
      let state = layer.importance.get(adapter);
      for (const key of ['A', 'B', 'E'] as const) {
        const p = params[key];
        if (!p.grad) continue;
        const prev = state?.[key];
        if (prev && prev.ipt.shape.join(',') !== p.shape.join(',')) {
          throw new Error(`RankAllocator: '${path}' lora_${key} changed shape during allocation`);
        }
        const next = tidy(() => {
          const ipt = abs(mul(p, p.grad!));
          const ema = prev ? add(mul(prev.ipt, beta1), mul(ipt, 1 - beta1)) : mul(ipt, 1 - beta1);
          const dev = abs(sub(ipt, ema));
          const unc = prev ? add(mul(prev.unc, beta2), mul(dev, 1 - beta2)) : mul(dev, 1 - beta2);
          return { ipt: ema, unc };
        });
        keep(next.ipt);
        keep(next.unc);
        if (prev) {
          prev.ipt.dispose();
          prev.unc.dispose();
        }
        if (!state) {
          state = {};
          layer.importance.set(adapter, state);
        }
        state[key] = next;
      }
    }
  });
}

/**
 * Triplet scores of every module with a nonzero rank, in `layers` order: S(E_i) + (mean_j S(A_ij) + mean_k S(B_ki))
 * with S = Ī·Ū (PEFT's `mask_to_budget` / `_combine_ipt`). Modules never scored count as zeros. One readback.
 */
export async function tripletScores(
  layers: Layers,
  adapter: string,
): Promise<{ path: string; scores: Float32Array }[]> {
  const live = layers.filter(([, l]) => l.rank(adapter) > 0);
  if (live.length === 0) return [];
  const all = noGrad(() =>
    tidy(() => {
      const parts = live.map(([, layer]) => {
        const r = layer.rank(adapter);
        const s = layer.importance.get(adapter);
        if (!s?.A || !s.B || !s.E) return tensor(new Float32Array(r), [r], { backend: layer.loraA(adapter).backend });
        const a = mean(mul(s.A.ipt, s.A.unc), 1);
        const b = mean(mul(s.B.ipt, s.B.unc), 0);
        const e = reshape(mul(s.E.ipt, s.E.unc), [r]);
        return add(e, add(a, b));
      });
      return parts.length === 1 ? parts[0] : concat(parts, 0);
    }),
  );
  const data = (await all.data()) as Float32Array;
  all.dispose();
  const out: { path: string; scores: Float32Array }[] = [];
  let offset = 0;
  for (const [path, layer] of live) {
    const r = layer.rank(adapter);
    out.push({ path, scores: data.slice(offset, offset + r) });
    offset += r;
  }
  return out;
}

/** Zero the singular values a keep-mask drops (`masked_fill_(~keep, 0)`), in place of the parameter. */
export function applyKeepMask(layer: AdaLoraLayer, adapter: string, keepMask: readonly boolean[]): void {
  const e = layer.loraE(adapter);
  if (keepMask.length !== e.shape[0])
    throw new Error(`applyKeepMask: ${keepMask.length} mask entries for ${e.shape[0]} singular values`);
  if (keepMask.every(Boolean)) return;
  // masked_fill (an exact +0, as PEFT writes), not a multiply (which leaves -0 for negative values)
  const drop = tensor(
    Uint8Array.from(keepMask, (k) => (k ? 0 : 1)),
    [keepMask.length, 1],
    {
      dtype: 'bool',
      backend: e.backend,
    },
  );
  const next = noGrad(() => maskedFill(e, drop, 0));
  drop.dispose();
  layer.replaceParameter('lora_E', adapter, next);
}

import '@peftjs/lora';
import { isLinearLike, type LinearLike, type Module } from '@peftjs/nn';
import { getPeftModel } from '@peftjs/registry';
import { manualSeed } from '@peftjs/tensor';
import { evaluate, type TokenDataset, Trainer } from '@peftjs/trainer';
import type { Sensitivity } from './nsga2.js';
import { makePlanFile, planToLoraConfig } from './plan.js';
import type { LayerQuantizer } from './quantizer.js';
import { minMax } from './init.js';
import { DEFAULT_SPACE, type LayerChoice, type ModuleSpec, type Plan, type SearchSpace } from './space.js';

/** Linear-like modules of `model` whose path matches `include` (default: every linear layer except the LM head). */
export function linearModules(
  model: Module,
  include: (path: string) => boolean = (p) => !/lm_head$/.test(p),
): ModuleSpec[] {
  const out: ModuleSpec[] = [];
  for (const [path, m] of model.namedModules()) {
    if (path && isLinearLike(m) && include(path))
      out.push({ path, inFeatures: (m as LinearLike).inFeatures, outFeatures: (m as LinearLike).outFeatures });
  }
  return out;
}

/** How a plan's fitness is measured: a short seeded fine-tune on the calibration split, loss on a held-out split. */
export interface FitnessOptions {
  /** The float base model; never changed (each evaluation works on a copy). */
  model: Module;
  modules: readonly ModuleSpec[];
  quantizer: LayerQuantizer;
  calibration: TokenDataset;
  heldOut: TokenDataset;
  /** Optimizer steps of the short fine-tune (default 20). */
  steps?: number;
  lr?: number;
  batchSize?: number;
  seed?: number;
  /** lora_alpha = alphaPerRank · r (default 2, as the official code). */
  alphaPerRank?: number;
}

/** The base model with every module at its plan's bits (a copy; the caller disposes it). */
export function quantizedCopy(o: Pick<FitnessOptions, 'model' | 'modules' | 'quantizer'>, plan: Plan): Module {
  const model = o.model.clone();
  o.modules.forEach((m, i) => {
    const layer = model.getSubmodule(m.path);
    if (!isLinearLike(layer)) throw new Error(`'${m.path}' is not a linear layer`);
    model.setSubmodule(m.path, o.quantizer.quantize(layer, plan[i]!.bits));
    layer.dispose();
  });
  model.requiresGrad_(false);
  return model;
}

/**
 * The fitness function of a real search: quantize a copy of the base per the plan, add LoRA at the plan's ranks
 * (rank_pattern / alpha_pattern), fine-tune `steps` seeded steps on the calibration split, and return the mean loss
 * on the held-out split. A plan without any adapter is the quantized base's loss.
 */
export function planFitness(o: FitnessOptions): (plan: Plan) => Promise<number> {
  return async (plan) => {
    const model = quantizedCopy(o, plan);
    const seed = o.seed ?? 0;
    try {
      if (plan.every((c) => c.rank === 0)) return (await evaluate(model, o.heldOut, { batchSize: o.batchSize })).loss;
      const file = makePlanFile(o.modules, plan, { memoryBytes: 0, budgetBytes: 0, calibrationLoss: 0 });
      manualSeed(seed);
      const peft = getPeftModel(model, planToLoraConfig(file, { alphaPerRank: o.alphaPerRank }));
      await new Trainer({
        model: peft,
        train: o.calibration,
        maxSteps: o.steps ?? 20,
        lr: o.lr ?? 5e-3,
        batchSize: o.batchSize ?? 4,
        seed,
        progress: false,
      }).train();
      return (await evaluate(peft, o.heldOut, { batchSize: o.batchSize })).loss;
    } finally {
      model.dispose();
    }
  };
}

/**
 * Per-module sensitivity on the calibration data (Phase I of the official code), min-max normalised:
 * I_q(l) = held-out loss with module l at the lowest bit width (all others at the highest) minus the loss with all
 * at the highest; I_r(l) = the held-out loss drop from fine-tuning only module l at the highest rank.
 */
export async function measureSensitivity(o: FitnessOptions & { space?: SearchSpace }): Promise<Sensitivity> {
  const space = o.space ?? DEFAULT_SPACE;
  const qLo = space.bits[0]!;
  const qHi = space.bits[space.bits.length - 1]!;
  const rHi = space.ranks[space.ranks.length - 1]!;
  const n = o.modules.length;
  const top: LayerChoice[] = o.modules.map(() => ({ bits: qHi, rank: 0 }));
  const fitness = planFitness(o);
  const base = await fitness(top);
  const quant: number[] = [];
  const rank: number[] = [];
  for (let i = 0; i < n; i++) {
    quant.push((await fitness(top.map((c, j) => (j === i ? { ...c, bits: qLo } : c)))) - base);
    rank.push(base - (await fitness(top.map((c, j) => (j === i ? { ...c, rank: rHi } : c)))));
  }
  return { quant: minMax(quant), rank: minMax(rank) };
}

import { isLinearLike, type Module } from '@peftjs/nn';
import {
  type AdapterLayer,
  type AdapterMethod,
  type MethodPreset,
  type ModelOutput,
  PeftError,
  registerAdapter,
  registerPreset,
} from '@peftjs/registry';
import {
  add,
  composite,
  gather,
  matmul,
  mul,
  noGrad,
  sqrt,
  square,
  sub,
  sum,
  type Tensor,
  tensor,
  zeros,
} from '@peftjs/tensor';
import {
  applyKeepMask,
  budgetSchedule,
  kthSmallest,
  resetImportance,
  tripletScores,
  updateImportance,
} from './allocator.js';
import {
  type AdaLoraConfig,
  adaLoraConfigToJSON,
  normalizeAdaLoraConfig,
  rankPatternOf,
  type ResolvedAdaLoraConfig,
  savedRankPatternKey,
} from './config.js';
import { AdaLoraLayer } from './layer.js';

declare module '@peftjs/registry' {
  interface AdapterConfigMap {
    adalora: AdaLoraConfig;
  }
}

/** PEFT's TRANSFORMERS_MODELS_TO_ADALORA_TARGET_MODULES_MAPPING (abridged). */
const DEFAULT_TARGETS: Record<string, string[]> = {
  llama: ['q_proj', 'v_proj'],
  mistral: ['q_proj', 'v_proj'],
  gpt2: ['c_attn'],
  bert: ['query', 'value'],
  roberta: ['query', 'value'],
};

type Layers = readonly (readonly [string, AdapterLayer])[];

function adaLoraLayers(layers: Layers): [string, AdaLoraLayer][] {
  return layers.filter((e): e is [string, AdaLoraLayer] => e[1] instanceof AdaLoraLayer);
}

/**
 * The orthogonal regulariser PEFT adds to the loss (`AdaLoraModel.forward`): the mean over every lora_A and lora_B of
 * ‖AAᵀ − I‖_F and ‖BᵀB − I‖_F. Modules cut to rank 0 count in the mean with a zero norm, as in PEFT.
 */
export function orthogonalRegularizer(layers: readonly AdaLoraLayer[], adapter: string): Tensor | null {
  if (layers.length === 0) return null;
  return composite(() => {
    let total: Tensor | null = null;
    for (const layer of layers) {
      const r = layer.rank(adapter);
      if (r === 0) continue;
      const a = layer.loraA(adapter);
      const b = layer.loraB(adapter);
      const eye = identity(r, a);
      for (const cov of [matmul(a, a, { transB: true }), matmul(b, b, { transA: true })]) {
        const norm = sqrt(sum(square(sub(cov, eye))));
        total = total ? add(total, norm) : norm;
      }
    }
    if (!total) return zeros([], { backend: layers[0]!.loraA(adapter).backend });
    return mul(total, 1 / (2 * layers.length));
  });
}

function identity(n: number, like: Tensor): Tensor {
  const d = new Float32Array(n * n);
  for (let i = 0; i < n; i++) d[i * n + i] = 1;
  return tensor(d, [n, n], { backend: like.backend });
}

/**
 * PEFT's `mask_to_budget`: cut every triplet whose score is ≤ the (init budget − budget)-th smallest, and return
 * the keep-mask per module (`<path>.lora_E.<adapter>` → booleans, PEFT's in-memory rank_pattern).
 */
async function maskToBudget(
  layers: readonly [string, AdaLoraLayer][],
  adapter: string,
  budget: number,
): Promise<Record<string, boolean[]>> {
  const initBudget = layers.reduce((s, [, l]) => s + l.rank(adapter), 0);
  const scored = await tripletScores(layers, adapter);
  const all = new Float32Array(scored.reduce((s, x) => s + x.scores.length, 0));
  let o = 0;
  for (const x of scored) {
    all.set(x.scores, o);
    o += x.scores.length;
  }
  const threshold = kthSmallest(all, initBudget - budget);
  const byPath = new Map(scored.map((x) => [x.path, x.scores]));
  const pattern: Record<string, boolean[]> = {};
  for (const [path, layer] of layers) {
    const scores = byPath.get(path) ?? new Float32Array(0);
    // `~(score <= threshold)`: a NaN score is kept, as in PEFT
    const keepMask = Array.from(scores, (s) => !(s <= threshold));
    applyKeepMask(layer, adapter, keepMask);
    pattern[`${path}.lora_E.${adapter}`] = keepMask;
  }
  return pattern;
}

/** PEFT's `mask_using_rank_pattern` (after the schedule): zero what the final pattern cut, every step. */
function maskUsingPattern(
  layers: readonly [string, AdaLoraLayer][],
  adapter: string,
  pattern: Record<string, boolean[]>,
): void {
  for (const [path, layer] of layers) {
    const keepMask = rankPatternOf(pattern, path, adapter);
    // a module created at its kept rank (a loaded, resized adapter) holds nothing to cut
    if (keepMask && keepMask.length === layer.rank(adapter)) applyKeepMask(layer, adapter, keepMask);
  }
}

/**
 * PEFT's `resize_state_dict_by_rank_pattern`: A and E rows and B columns of the kept triplets, for every module
 * whose tensors still hold all `rank_pattern` entries. Tensors already at the kept rank pass through.
 */
export function resizeStateByRankPattern(
  state: Readonly<Record<string, Tensor>>,
  pattern: Record<string, boolean[]> | null,
): Record<string, Tensor> {
  const out: Record<string, Tensor> = { ...state };
  if (!pattern) return out;
  for (const [rawKey, keepMask] of Object.entries(pattern)) {
    const prefix = `base_model.model.${savedRankPatternKey(rawKey).slice(0, -'.lora_E'.length)}`;
    const e = state[`${prefix}.lora_E`];
    const a = state[`${prefix}.lora_A`];
    const b = state[`${prefix}.lora_B`];
    if (!e || !a || !b) continue;
    const kept: number[] = [];
    keepMask.forEach((k, i) => {
      if (k) kept.push(i);
    });
    if (e.shape[0] === kept.length || e.shape[0] !== keepMask.length) continue;
    noGrad(() => {
      if (kept.length === 0) {
        out[`${prefix}.lora_A`] = zeros([0, a.shape[1]], { backend: a.backend });
        out[`${prefix}.lora_E`] = zeros([0, 1], { backend: e.backend });
        out[`${prefix}.lora_B`] = zeros([b.shape[0], 0], { backend: b.backend });
        return;
      }
      const idx = tensor(Int32Array.from(kept), [kept.length], { dtype: 'i32', backend: e.backend });
      out[`${prefix}.lora_A`] = gather(a, idx, 0);
      out[`${prefix}.lora_E`] = gather(e, idx, 0);
      out[`${prefix}.lora_B`] = gather(b, idx, 1);
      idx.dispose();
    });
  }
  return out;
}

/** The AdaLoRA method (peft_type "ADALORA"). Registered when `@peftjs/adalora` is imported. */
export const adaLoraMethod: AdapterMethod<ResolvedAdaLoraConfig> = {
  name: 'adalora',
  peftType: 'ADALORA',
  supportedModules: ['Linear', 'Conv1D'],
  normalizeConfig: normalizeAdaLoraConfig,
  toJSON: adaLoraConfigToJSON,
  canAdapt: (m: Module) => isLinearLike(m),
  createLayer: (m, config, ctx) => new AdaLoraLayer(m, config, ctx),
  defaultTargets: (modelType) => (modelType ? DEFAULT_TARGETS[modelType] : undefined),

  forward(inputs, next, ctx): ModelOutput {
    const out = next(inputs);
    const w = ctx.config.orth_reg_weight;
    // Only while training: evaluation losses (perplexity) stay the model's own. PEFT adds it whenever a loss is computed.
    if (!out.loss || !ctx.training || w === 0) return out;
    const layers = adaLoraLayers(ctx.layers).map(([, l]) => l);
    const loss = out.loss;
    const total = composite(() => {
      const reg = orthogonalRegularizer(layers, ctx.adapterName);
      return reg ? add(loss, mul(reg, w)) : add(loss, 0);
    });
    return { ...out, loss: total };
  },

  async onTrainStep(ctx) {
    const c = ctx.config;
    const name = ctx.adapterName;
    const layers = adaLoraLayers(ctx.layers);
    if (layers.length === 0) return;
    const finalStep = c.total_step - c.tfinal;
    const initBudget = layers.reduce((s, [, l]) => s + l.rank(name), 0);
    const targetBudget = c.target_r * layers.length;
    if (ctx.step < finalStep) {
      updateImportance(layers, name, c.beta1, c.beta2);
      const { budget, mask } = budgetSchedule(ctx.step, initBudget, targetBudget, c);
      if (mask) c.rank_pattern = await maskToBudget(layers, name, budget);
    } else if (ctx.step === finalStep) {
      // the allocation is final: frozen into rank_pattern (what save_pretrained writes)
      const { budget } = budgetSchedule(ctx.step, initBudget, targetBudget, c);
      c.rank_pattern = await maskToBudget(layers, name, budget);
      resetImportance(layers, name);
    } else if (c.rank_pattern) {
      maskUsingPattern(layers, name, c.rank_pattern);
    }
  },

  transformStateForSave: (state, ctx) => resizeStateByRankPattern(state, ctx.config.rank_pattern),
  transformStateForLoad: (state, ctx) => resizeStateByRankPattern(state, ctx.config.rank_pattern),
};

/** The rank pattern of a model's AdaLoRA adapter: saved keys (`<module>.lora_E`) → kept triplets, or null. */
export function rankPatternOfConfig(config: {
  rank_pattern?: Record<string, boolean[]> | null;
}): Record<string, boolean[]> | null {
  if (!config.rank_pattern) return null;
  return Object.fromEntries(Object.entries(config.rank_pattern).map(([k, v]) => [savedRankPatternKey(k), [...v]]));
}

/** Number of steps the "adalora" preset schedules for when the caller does not say (pass `totalSteps`). */
export const ADALORA_PRESET_DEFAULT_STEPS = 1000;

/**
 * The "adalora" preset: init_r = 1.5·r triplets per module cut down to r on average, the budget schedule spanning
 * `totalSteps` (the run's optimizer steps; default {@link ADALORA_PRESET_DEFAULT_STEPS}) with the first and last
 * 10% held fixed.
 */
export const adaLoraPreset: MethodPreset = {
  name: 'adalora',
  method: 'adalora',
  summary: 'AdaLoRA: SVD-form LoRA whose ranks are reallocated across layers by importance during training',
  config: (o) => {
    const r = o.r ?? 8;
    const total = o.totalSteps ?? ADALORA_PRESET_DEFAULT_STEPS;
    if (!Number.isInteger(total) || total < 3)
      throw new PeftError(`adalora preset: totalSteps must be an integer >= 3, got ${total}`);
    const hold = Math.floor(total / 10);
    return {
      peft_type: 'ADALORA',
      ...(o.taskType ? { task_type: o.taskType } : {}),
      init_r: Math.ceil(1.5 * r),
      target_r: r,
      lora_alpha: o.alpha ?? 2 * r,
      lora_dropout: o.dropout ?? 0.05,
      target_modules: o.targetModules ?? 'all-linear',
      total_step: total,
      tinit: hold,
      tfinal: hold,
      deltaT: 1,
      ...(o.modulesToSave ? { modules_to_save: o.modulesToSave } : {}),
    };
  },
  matches: (c) => c.peft_type === 'ADALORA',
};

let registered = false;
/** Register AdaLoRA and its preset with the registry (idempotent; done on import). */
export function registerAdaLora(): void {
  if (registered) return;
  registered = true;
  registerAdapter(adaLoraMethod);
  registerPreset(adaLoraPreset);
}

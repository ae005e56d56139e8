import { isLinearLike, type LinearLike, type Module } from '@peftjs/nn';
import {
  type AdapterMethod,
  type MethodPreset,
  PeftConfigError,
  registerAdapter,
  registerPreset,
} from '@peftjs/registry';
import {
  arange,
  concat,
  equal,
  full,
  log,
  noGrad,
  reshape,
  slice,
  softmax,
  sub,
  sum,
  type Tensor,
  topk,
  uniform,
  where,
} from '@peftjs/tensor';
import { normalizeVBLoRAConfig, type ResolvedVBLoRAConfig, type VBLoRAConfig, vbloraConfigToJSON } from './config.js';
import { VBLoRALayer, VECTOR_BANK } from './layer.js';

declare module '@peftjs/registry' {
  interface AdapterConfigMap {
    vblora: VBLoRAConfig;
  }
}

/** PEFT's default VB-LoRA targets by model_type (TRANSFORMERS_MODELS_TO_VBLORA_TARGET_MODULES_MAPPING, abridged). */
const DEFAULT_TARGETS: Record<string, string[]> = {
  llama: ['q_proj', 'v_proj'],
  mistral: ['q_proj', 'v_proj'],
  gpt2: ['c_attn'],
  bert: ['query', 'value'],
  roberta: ['query', 'value'],
};

const TOPK_INDICES = '_topk_indices';
const TOPK_WEIGHTS = '_topk_weights';

/** The integer dtype PEFT stores top-k indices in for a bank of `n` vectors. */
export function topkIndexDType(n: number): 'U8' | 'I16' | 'I32' | 'I64' {
  if (n < 2 ** 8) return 'U8';
  if (n < 2 ** 15) return 'I16';
  if (n < 2 ** 31) return 'I32';
  return 'I64';
}

/** `vector_length: "auto"`: the largest power of two up to 256 dividing every target's in and out features. */
export function autoVectorLength(dims: readonly number[]): number {
  let L = 256;
  while (L > 1 && dims.some((d) => d % L !== 0)) L /= 2;
  return L;
}

/** PEFT's `_get_adapter_state_dict` with save_only_topk_weights: logits → top-k indices and k − 1 weights. */
function saveTopk(state: Readonly<Record<string, Tensor>>, config: ResolvedVBLoRAConfig): Record<string, Tensor> {
  if (!config.save_only_topk_weights) return { ...state };
  const out: Record<string, Tensor> = {};
  noGrad(() => {
    for (const [key, t] of Object.entries(state)) {
      if (!key.includes('vblora_logits')) {
        out[key] = t;
        continue;
      }
      const { values, indices } = topk(t, config.topk);
      const w = softmax(values, -1);
      values.dispose();
      out[key + TOPK_INDICES] = indices;
      const kept = [...w.shape.slice(0, -1), config.topk - 1];
      out[key + TOPK_WEIGHTS] = slice(w, [], kept);
      w.dispose();
    }
  });
  return out;
}

/**
 * PEFT's `_remap_adapter_state_dict_for_load`: the last weight is 1 − Σ of the others, and the logits are log(w)
 * at the saved indices and −∞ elsewhere (so the same top-k comes out and ΔW is reproduced; training cannot resume).
 */
function loadTopk(state: Readonly<Record<string, Tensor>>, config: ResolvedVBLoRAConfig): Record<string, Tensor> {
  if (!config.save_only_topk_weights) return { ...state };
  const out: Record<string, Tensor> = {};
  const N = config.num_vectors;
  noGrad(() => {
    for (const [key, t] of Object.entries(state)) {
      if (key.endsWith(TOPK_WEIGHTS)) continue;
      if (!key.endsWith(TOPK_INDICES)) {
        out[key] = t;
        continue;
      }
      const base = key.slice(0, -TOPK_INDICES.length);
      const weights = state[base + TOPK_WEIGHTS];
      if (!weights) throw new PeftConfigError('save_only_topk_weights', `'${base}${TOPK_WEIGHTS}' is missing`);
      if (t.dtype !== 'i32') throw new PeftConfigError('save_only_topk_weights', `'${key}' must hold integers`);
      const k = t.shape[t.rank - 1];
      const last = sub(1, sum(weights, -1, true));
      const logits = log(concat([weights, last], -1));
      last.dispose();
      const columns = reshape(arange(0, N, 1, { dtype: 'i32', backend: t.backend }), [
        ...t.shape.slice(0, -1).map(() => 1),
        N,
      ]);
      let matrix = full([...t.shape.slice(0, -1), N], Number.NEGATIVE_INFINITY, { backend: t.backend });
      for (let j = 0; j < k; j++) {
        const at = [...t.shape.slice(0, -1).map(() => 0), j];
        const size = [...t.shape.slice(0, -1), 1];
        const idx = slice(t, at, size);
        const hit = equal(columns, idx);
        const value = slice(logits, at, size);
        const next = where(hit, value, matrix);
        for (const x of [idx, hit, value, matrix]) x.dispose();
        matrix = next;
      }
      columns.dispose();
      logits.dispose();
      out[base] = matrix;
    }
  });
  return out;
}

/** The VB-LoRA method (peft_type "VBLORA"). Registered when `@peftjs/vblora` is imported. */
export const vbloraMethod: AdapterMethod<ResolvedVBLoRAConfig> = {
  name: 'vblora',
  peftType: 'VBLORA',
  supportedModules: ['Linear', 'Conv1D'],
  normalizeConfig: normalizeVBLoRAConfig,
  toJSON: vbloraConfigToJSON,
  canAdapt: (m: Module) => isLinearLike(m),
  createLayer: (m, config, ctx) => new VBLoRALayer(m, config, ctx),
  defaultTargets: (modelType) => (modelType ? DEFAULT_TARGETS[modelType] : undefined),
  /** One bank per adapter on the tuner root (PEFT's `_pre_injection_hook` + `_init_vblora_vector_bank`). */
  prepareInjection(targets, config, ctx) {
    if (config.vector_length === 'auto') {
      const dims = targets.flatMap(({ module }) => [
        (module as LinearLike).inFeatures,
        (module as LinearLike).outFeatures,
      ]);
      config.vector_length = autoVectorLength(dims);
    }
    const backend = targets[0].module.param('weight').backend;
    const bound = config.init_vector_bank_bound;
    const bank = uniform([config.num_vectors, config.vector_length], -bound, bound, { backend });
    bank.requiresGrad = true;
    ctx.shared.register(ctx.adapterName, VECTOR_BANK, bank);
    return undefined;
  },
  transformStateForSave: (state, ctx) => saveTopk(state, ctx.config),
  transformStateForLoad: (state, ctx) => loadTopk(state, ctx.config),
  storedDType: (key, _t, ctx) => (key.endsWith(TOPK_INDICES) ? topkIndexDType(ctx.config.num_vectors) : undefined),
};

/**
 * The "vblora" preset: PEFT's defaults (r 4, a 256-vector bank, top-2) with the vector length fitted to the model
 * (256 where every target's dimensions allow it, else the largest power of two that divides them), and the learning
 * rate of PEFT's better MetaMathQA VB-LoRA run (5e-4; the shared bank and logits want more than LoRA's).
 */
export const vbloraPreset: MethodPreset = {
  name: 'vblora',
  method: 'vblora',
  summary: 'VB-LoRA: A and B composed from one shared vector bank by per-layer top-k logits',
  config: (o) => ({
    peft_type: 'VBLORA',
    ...(o.taskType ? { task_type: o.taskType } : {}),
    r: 4,
    num_vectors: 256,
    vector_length: 'auto',
    topk: 2,
    vblora_dropout: 0,
    target_modules: o.targetModules ?? ['q_proj', 'v_proj'],
    ...(o.modulesToSave ? { modules_to_save: o.modulesToSave } : {}),
  }),
  matches: (c) => c.peft_type === 'VBLORA',
  learningRate: () => 5e-4,
};

let registered = false;
/** Register VB-LoRA and its preset with the registry (idempotent; done on import). */
export function registerVBLoRA(): void {
  if (registered) return;
  registered = true;
  registerAdapter(vbloraMethod);
  registerPreset(vbloraPreset);
}

import { isLinearLike, type LinearLike, type Module } from '@peftjs/nn';
import {
  type AdapterMethod,
  type InjectionTarget,
  type MethodPreset,
  PeftConfigError,
  registerAdapter,
  registerPreset,
} from '@peftjs/registry';
import { normalizeWaveFTConfig, type ResolvedWaveFTConfig, type WaveFTConfig, waveftConfigToJSON } from './config.js';
import { WaveFTLayer, type WaveFTPlan } from './layer.js';

declare module '@peftjs/registry' {
  interface AdapterConfigMap {
    waveft: WaveFTConfig;
  }
}

/** PEFT's default WaveFT targets by model_type (TRANSFORMERS_MODELS_TO_WAVEFT_TARGET_MODULES_MAPPING, abridged). */
const DEFAULT_TARGETS: Record<string, string[]> = {
  llama: ['q_proj', 'v_proj'],
  mistral: ['q_proj', 'v_proj'],
  gpt2: ['c_attn'],
  bert: ['query', 'value'],
  roberta: ['query', 'value'],
};

/** Python's round(): to the nearest integer, halves to even. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * PEFT's `_calculate_proportional_parameters`: a budget of n_frequency × (number of targets), split in proportion
 * to each target's in·out, at least 1 per layer.
 */
export function proportionalFrequencies(
  targets: readonly { path: string; inFeatures: number; outFeatures: number }[],
  nFrequency: number,
): Map<string, number> {
  if (targets.length === 0)
    throw new PeftConfigError('target_modules', 'no target modules found for proportional parameter allocation');
  const total = targets.reduce((s, t) => s + t.inFeatures * t.outFeatures, 0);
  const budget = nFrequency * targets.length;
  const out = new Map<string, number>();
  for (const t of targets) {
    const ratio = (t.inFeatures * t.outFeatures) / total;
    out.set(t.path, Math.max(1, roundHalfEven(ratio * budget)));
  }
  return out;
}

/** The WaveFT method (peft_type "WAVEFT"). Registered when `@peftjs/waveft` is imported. */
export const waveftMethod: AdapterMethod<ResolvedWaveFTConfig> = {
  name: 'waveft',
  peftType: 'WAVEFT',
  supportedModules: ['Linear', 'Conv1D'],
  normalizeConfig: normalizeWaveFTConfig,
  toJSON: waveftConfigToJSON,
  canAdapt: (m: Module) => isLinearLike(m),
  createLayer: (m, config, ctx) => new WaveFTLayer(m, config, ctx),
  defaultTargets: (modelType) => (modelType ? DEFAULT_TARGETS[modelType] : undefined),
  prepareInjection(targets: readonly InjectionTarget[], config) {
    if (!config.proportional_parameters) return undefined;
    const dims = targets.map(({ path, module }) => {
      const m = module as LinearLike;
      return { path, inFeatures: m.inFeatures, outFeatures: m.outFeatures };
    });
    const plans = new Map<string, WaveFTPlan>();
    for (const [path, n] of proportionalFrequencies(dims, config.n_frequency)) plans.set(path, { nFrequency: n });
    return plans;
  },
};

/**
 * The "waveft" preset: PEFT's defaults (n_frequency 2592 per layer, scaling 25, Haar wavelet, seed 777) on the given
 * targets (q_proj and v_proj by default, as in PEFT's MetaMathQA comparison), with that comparison's learning rate
 * (1e-4): ΔW is 25 × the coefficients, so learning rates sized for LoRA make it diverge.
 */
export const waveftPreset: MethodPreset = {
  name: 'waveft',
  method: 'waveft',
  summary: 'WaveFT: a few thousand trainable wavelet coefficients per layer, ΔW by the inverse 2-D DWT',
  config: (o) => ({
    peft_type: 'WAVEFT',
    ...(o.taskType ? { task_type: o.taskType } : {}),
    n_frequency: 2592,
    scaling: 25,
    wavelet_family: 'db1',
    random_loc_seed: 777,
    target_modules: o.targetModules ?? ['q_proj', 'v_proj'],
    ...(o.modulesToSave ? { modules_to_save: o.modulesToSave } : {}),
  }),
  matches: (c) => c.peft_type === 'WAVEFT',
  learningRate: () => 1e-4,
};

let registered = false;
/** Register WaveFT and its preset with the registry (idempotent; done on import). */
export function registerWaveFT(): void {
  if (registered) return;
  registered = true;
  registerAdapter(waveftMethod);
  registerPreset(waveftPreset);
}

import type { Module } from '@peftjs/nn';
import {
  type AdapterMethod,
  type MethodPreset,
  type PresetOptions,
  registerAdapter,
  registerPreset,
} from '@peftjs/registry';
import { type LoraConfig, loraConfigToJSON, normalizeLoraConfig, type ResolvedLoraConfig } from './config.js';
import { LoraLayer, loraTargetKind } from './layer.js';

declare module '@peftjs/registry' {
  interface AdapterConfigMap {
    lora: LoraConfig;
  }
}

/** PEFT's default LoRA targets by model_type (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING, abridged). */
const DEFAULT_TARGETS: Record<string, string[]> = {
  llama: ['q_proj', 'v_proj'],
  mistral: ['q_proj', 'v_proj'],
  gpt2: ['c_attn'],
  bert: ['query', 'value'],
  roberta: ['query', 'value'],
};

/** The LoRA method (peft_type "LORA"). Registered when `@peftjs/lora` is imported. */
export const loraMethod: AdapterMethod<ResolvedLoraConfig> = {
  name: 'lora',
  peftType: 'LORA',
  supportedModules: ['Linear', 'Conv1D', 'Embedding'],
  normalizeConfig: normalizeLoraConfig,
  toJSON: loraConfigToJSON,
  canAdapt: (m: Module) => loraTargetKind(m) !== null,
  createLayer: (m, config, ctx) => new LoraLayer(m, config, ctx),
  defaultTargets: (modelType) => (modelType ? DEFAULT_TARGETS[modelType] : undefined),
};

/** A LoRA config from a preset's options (shared with presets of LoRA variants such as DoRA). */
export function loraPresetConfig(o: PresetOptions, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const r = o.r ?? 8;
  return {
    peft_type: 'LORA',
    ...(o.taskType ? { task_type: o.taskType } : {}),
    r,
    lora_alpha: o.alpha ?? 2 * r,
    lora_dropout: o.dropout ?? 0.05,
    target_modules: o.targetModules ?? 'all-linear',
    ...(o.modulesToSave ? { modules_to_save: o.modulesToSave } : {}),
    ...extra,
  };
}

/** The "lora" preset: what `peftjs train --method lora`, comparisons and `recommend()` use. */
export const loraPreset: MethodPreset = {
  name: 'lora',
  method: 'lora',
  summary: 'LoRA: a trainable low-rank update B·A·(alpha/r) on each target layer',
  config: (o) => loraPresetConfig(o),
  matches: (c) => c.peft_type === 'LORA' && c.use_dora !== true,
  recommend: {
    role: 'default',
    // frozen float32 weights plus activations, adapter weights and optimizer state (rule of thumb)
    bytesPerParam: 6,
    reason: 'the well-tested default, fast, mergeable into the base weights',
  },
};

let registered = false;
/** Register LoRA and its preset with the registry (idempotent; done on import). */
export function registerLora(): void {
  if (registered) return;
  registered = true;
  registerAdapter(loraMethod);
  registerPreset(loraPreset);
}

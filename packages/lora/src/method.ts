import type { Module } from '@peftjs/nn';
import { type AdapterMethod, registerAdapter } from '@peftjs/registry';
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

let registered = false;
/** Register LoRA with the registry (idempotent; done on import). */
export function registerLora(): void {
  if (registered) return;
  registered = true;
  registerAdapter(loraMethod);
}

/**
 * `@peftjs/lora`: LoRA for peftjs, numerically identical to Hugging Face PEFT (Linear, GPT-2 Conv1D and
 * Embedding targets; rsLoRA; rank/alpha patterns; dropout; bias modes; merge and unmerge). Importing the package
 * registers the method.
 *
 * ```ts
 * import { getPeftModel } from '@peftjs/registry';
 * import '@peftjs/lora';
 * const peft = getPeftModel(model, { peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['q_proj', 'v_proj'] });
 * ```
 * @packageDocumentation
 */
import { registerLora } from './method.js';

registerLora();

export { loraConfigToJSON, normalizeLoraConfig, patternValue } from './config.js';
export type { LoraConfig, ResolvedLoraConfig } from './config.js';
export { LoraLayer, loraTargetKind } from './layer.js';
export type { LoraTargetKind } from './layer.js';
export { loraMethod, loraPreset, loraPresetConfig, registerLora } from './method.js';
export { registerLoraVariant, variantFor } from './variant.js';
export type { LoraVariant } from './variant.js';
// The user-facing API, so that installing @peftjs/lora alone is enough to use it.
export { getPeftModel, PeftModel } from '@peftjs/registry';

/**
 * `@peftjs/adalora`: AdaLoRA for peftjs, numerically identical to Hugging Face PEFT: the SVD-form adapter
 * (`lora_A`, `lora_E`, `lora_B`, `ranknum`), the orthogonal regulariser in the training loss, and the rank
 * allocator (importance EMAs, cubic budget schedule, masking, final `rank_pattern`) run by the trainer after every
 * optimizer step — no `update_and_allocate` call to forget. Saves and loads PEFT's AdaLoRA adapters, resized ones
 * included. Importing the package registers the method.
 *
 * ```ts
 * import { getPeftModel } from '@peftjs/registry';
 * import '@peftjs/adalora';
 * const peft = getPeftModel(model, { peft_type: 'ADALORA', init_r: 12, target_r: 8, total_step: 1000 });
 * ```
 * @packageDocumentation
 */
import { registerAdaLora } from './method.js';

registerAdaLora();

export {
  applyKeepMask,
  budgetSchedule,
  kthSmallest,
  resetImportance,
  tripletScores,
  updateImportance,
} from './allocator.js';
export type { BudgetStep, Ema, Layers, ModuleImportance } from './allocator.js';
export { adaLoraConfigToJSON, normalizeAdaLoraConfig, rankPatternOf, savedRankPatternKey } from './config.js';
export type { AdaLoraConfig, ResolvedAdaLoraConfig } from './config.js';
export { AdaLoraLayer } from './layer.js';
export {
  ADALORA_PRESET_DEFAULT_STEPS,
  adaLoraMethod,
  adaLoraPreset,
  orthogonalRegularizer,
  rankPatternOfConfig,
  registerAdaLora,
  resizeStateByRankPattern,
} from './method.js';
export { getPeftModel, PeftModel } from '@peftjs/registry';

/**
 * `@peftjs/dora`: DoRA — weight-decomposed low-rank adaptation (`use_dora: true` in a LoRA config), numerically
 * identical to Hugging Face PEFT: a trainable magnitude per output row (`lora_magnitude_vector`), the direction
 * from W + s·BA with its norm detached, merge and unmerge. Importing the package registers the variant with
 * `@peftjs/lora`.
 *
 * ```ts
 * import '@peftjs/lora';
 * import '@peftjs/dora';
 * const peft = getPeftModel(model, { peft_type: 'LORA', use_dora: true, r: 8, target_modules: 'all-linear' });
 * ```
 * @packageDocumentation
 */
import { loraPresetConfig, registerLoraVariant } from '@peftjs/lora';
import { type MethodPreset, registerPreset } from '@peftjs/registry';
import { doraVariant } from './dora.js';

/** The "dora" preset: a LoRA config with `use_dora: true`. */
export const doraPreset: MethodPreset = {
  name: 'dora',
  method: 'lora',
  summary: 'DoRA: LoRA with a trainable magnitude per output row (weight-decomposed)',
  config: (o) => loraPresetConfig(o, { use_dora: true }),
  matches: (c) => c.peft_type === 'LORA' && c.use_dora === true,
  recommend: {
    role: 'quality',
    // also materialises each adapted weight (W + s·BA) and its norms in the forward and backward pass
    bytesPerParam: 10,
    reason: 'weight-decomposed LoRA, usually better than LoRA at the same rank, ~1.5–2× slower steps',
  },
};

let registered = false;
/** Register the DoRA variant and its preset (idempotent; done on import). */
export function registerDora(): void {
  if (registered) return;
  registered = true;
  registerLoraVariant(doraVariant);
  registerPreset(doraPreset);
}
registerDora();

export { DoraMagnitude, doraVariant } from './dora.js';

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
import { registerLoraVariant } from '@peftjs/lora';
import { doraVariant } from './dora.js';

let registered = false;
/** Register the DoRA variant (idempotent; done on import). */
export function registerDora(): void {
  if (registered) return;
  registered = true;
  registerLoraVariant(doraVariant);
}
registerDora();

export { DoraMagnitude, doraVariant } from './dora.js';

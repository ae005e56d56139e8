/**
 * `@peftjs/vblora`: VB-LoRA for peftjs, numerically identical to Hugging Face PEFT. One vector bank per adapter,
 * held once on the tuner root (`base_model.vblora_vector_bank`); each adapted Linear / Conv1D composes A and B from
 * it with the softmax of its top-k logits. Merge and unmerge, several adapters (each with its own bank), and PEFT's
 * compact `save_only_topk_weights` format both ways. Importing the package registers the method.
 *
 * ```ts
 * import { getPeftModel } from '@peftjs/registry';
 * import '@peftjs/vblora';
 * const peft = getPeftModel(model, { peft_type: 'VBLORA', r: 4, num_vectors: 256, vector_length: 256, target_modules: ['q_proj', 'v_proj'] });
 * ```
 * @packageDocumentation
 */
import { registerVBLoRA } from './method.js';

registerVBLoRA();

export { normalizeVBLoRAConfig, vbloraConfigToJSON } from './config.js';
export type { ResolvedVBLoRAConfig, VBLoRAConfig } from './config.js';
export { composeFromBank, VBLoRALayer, VECTOR_BANK } from './layer.js';
export { autoVectorLength, registerVBLoRA, topkIndexDType, vbloraMethod, vbloraPreset } from './method.js';
export { getPeftModel, PeftModel } from '@peftjs/registry';

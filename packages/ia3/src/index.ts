/**
 * `@peftjs/ia3`: IA³ for peftjs, numerically identical to Hugging Face PEFT — `ia3_l` scales a layer's output
 * ([out, 1], bias included) or, for feed-forward modules, its input ([1, in]); Linear, GPT-2 Conv1D and any
 * `LinearLike`; PEFT's default targets and feed-forward modules per `model_type`; merge / unmerge. Importing the
 * package registers the method.
 *
 * ```ts
 * import { getPeftModel } from '@peftjs/registry';
 * import '@peftjs/ia3';
 * const peft = getPeftModel(model, { peft_type: 'IA3', task_type: 'CAUSAL_LM' }); // llama: k_proj, v_proj, down_proj
 * ```
 * @packageDocumentation
 */
import { registerIA3 } from './method.js';

registerIA3();

export { IA3_DEFAULTS, ia3ConfigToJSON, isFeedforward, normalizeIA3Config, prepareIA3Config } from './config.js';
export type { IA3Config } from './config.js';
export { IA3Layer } from './layer.js';
export { ia3Method, ia3Preset, registerIA3 } from './method.js';
// The user-facing API, so that installing @peftjs/ia3 alone is enough to use it.
export { getPeftModel, PeftModel } from '@peftjs/registry';

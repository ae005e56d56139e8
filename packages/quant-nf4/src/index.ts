/**
 * `@peftjs/quant-nf4`: bitsandbytes-exact 4-bit (NF4 / FP4, with double quantization) and LLM.int8 weight storage,
 * the frozen quantized base layers QLoRA trains on ({@link Linear4bit}, {@link Linear8bit}), and the quantized
 * checkpoints transformers writes. This entry works on bytes (any runtime); directories are in
 * `@peftjs/quant-nf4/node`.
 *
 * ```ts
 * import { quantizeModel } from '@peftjs/quant-nf4';
 * await quantizeModel(model, { load_in_4bit: true, bnb_4bit_quant_type: 'nf4', bnb_4bit_use_double_quant: true });
 * ```
 * @packageDocumentation
 */
import { registerQloraPreset } from './preset.js';

registerQloraPreset();

export * from './blockwise.js';
export {
  loadQuantizedModel,
  type LoadQuantizedOptions,
  quantizationOf,
  quantizedConfigJson,
  quantizedStateDict,
  quantizeModel,
} from './checkpoint.js';
export * from './codes.js';
export * from './config.js';
export * from './errors.js';
export * from './int8.js';
export { checkQuantized4bit, Linear4bit, Linear8bit, type QuantLinearOptions, settleQuantized } from './linear.js';
export * from './quant-state.js';
export { qloraFp4Preset, qloraInt8Preset, qloraPreset, registerQloraPreset } from './preset.js';

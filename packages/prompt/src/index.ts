/**
 * `@peftjs/prompt`: the prompt-learning methods of Hugging Face PEFT — prompt tuning (`PROMPT_TUNING`), P-tuning
 * (`P_TUNING`, MLP or LSTM encoder) and prefix tuning (`PREFIX_TUNING`) — with PEFT's numbers and files
 * (`prompt_embeddings` only). Importing the package registers the three methods and the presets "prompt-tuning",
 * "p-tuning" and "prefix-tuning".
 *
 * ```ts
 * import { getPeftModel } from '@peftjs/registry';
 * import '@peftjs/prompt';
 * const peft = getPeftModel(model, { peft_type: 'PROMPT_TUNING', task_type: 'CAUSAL_LM', num_virtual_tokens: 20 });
 * const { logits, loss } = peft.forward({ inputIds, labels }); // logits cover the 20 virtual tokens first
 * ```
 * @packageDocumentation
 */
import { registerPromptMethods } from './method.js';

registerPromptMethods();

export {
  normalizePrefixTuningConfig,
  normalizePromptEncoderConfig,
  normalizePromptTuningConfig,
  PROMPT_TOKENIZER,
  prefixTuningConfigToJSON,
  preparePromptConfig,
  promptEncoderConfigToJSON,
  promptTuningConfigToJSON,
  withTokenizer,
} from './config.js';
export type {
  AnyPromptConfig,
  PrefixTuningConfig,
  PromptEncoderConfig,
  PromptLearningConfig,
  PromptTokenizer,
  PromptTuningConfig,
  Resolved,
} from './config.js';
export type { EncoderModel } from './encoders.js';
export {
  createEncoder,
  PrefixEncoder,
  PromptEmbedding,
  PromptEncoder,
  PromptModule,
  repeatToLength,
  Sequential,
} from './encoders.js';
export {
  PROMPT_EMBEDDINGS_KEY,
  pTuningMethod,
  prefixKeyValues,
  prefixTuningMethod,
  promptPresets,
  promptTuningMethod,
  registerPromptMethods,
  wordEmbeddings,
} from './method.js';
// The user-facing API, so that installing @peftjs/prompt alone is enough to use it.
export { getPeftModel, PeftModel } from '@peftjs/registry';

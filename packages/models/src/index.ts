/**
 * `@peftjs/models`: Hugging Face architectures — `LlamaForCausalLM`, `BertForSequenceClassification`,
 * `GPT2LMHeadModel` — whose parameter names are exactly the checkpoints' state-dict names, forward and backward
 * matching transformers, config.json parsing, checkpoint loading from any safetensors source, and tokenizers.
 * Directory helpers (`fromPretrained`, `savePretrained`) are in `@peftjs/models/node`.
 *
 * ```ts
 * import { LlamaForCausalLM } from '@peftjs/models';
 * const model = new LlamaForCausalLM({ vocab_size: 128, hidden_size: 64, intermediate_size: 96,
 *   num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2 });
 * const { logits, loss } = model.forward({ inputIds, attentionMask, labels });
 * ```
 * @packageDocumentation
 */

export type { AttentionContext } from './attention.js';
export { attend, cacheKeyValue, mergeHeads, repeatKv, splitHeads } from './attention.js';
export type { LoadWeightsOptions, LoadWeightsReport } from './auto.js';
export { createModel, loadWeights, MODEL_CLASSES } from './auto.js';
export {
  BertAttention,
  BertEmbeddings,
  BertEncoder,
  BertForSequenceClassification,
  BertIntermediate,
  BertLayer,
  BertModel,
  BertPooler,
  BertResidualOutput,
  BertSelfAttention,
} from './bert.js';
export type {
  CausalLMInputs,
  KeyValue,
  ModelInputs,
  ModelOutput,
  ProblemType,
  SequenceClassificationInputs,
} from './common.js';
export { causalLMLoss, keyPaddingMask, sequenceClassificationLoss } from './common.js';
export type {
  ArchitectureName,
  BaseConfig,
  BertConfig,
  GPT2Config,
  LlamaConfig,
  ModelConfig,
  RawConfig,
  RopeScaling,
} from './config.js';
export {
  ARCHITECTURES,
  ConfigError,
  configToJson,
  parseBertConfig,
  parseGPT2Config,
  parseLlamaConfig,
  resolveArchitecture,
  SUPPORTED_ROPE_TYPES,
} from './config.js';
export type { GenerateOptions, GenerationModel } from './generate.js';
export { generate } from './generate.js';
export { GPT2Attention, GPT2Block, GPT2LMHeadModel, GPT2MLP, GPT2Model } from './gpt2.js';
export type { LlamaContext } from './llama.js';
export { LlamaAttention, LlamaDecoderLayer, LlamaForCausalLM, LlamaMLP, LlamaModel } from './llama.js';
export type { ModelOptions } from './pretrained.js';
export { PreTrainedModel } from './pretrained.js';
export { ResidualAdd } from './residual.js';
export type { ResidualSublayer } from './residual.js';
export { ropeInvFreq, ropeTables } from './rope.js';
export type {
  BatchEncodeOptions,
  BatchEncoding,
  ByteTokenizerOptions,
  DecodeOptions,
  EncodeOptions,
} from './tokenizer.js';
export { ByteTokenizer, bytesToUnicode, HFTokenizer, Tokenizer, tokenizerFromJson } from './tokenizer.js';

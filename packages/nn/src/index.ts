/**
 * `@peftjs/nn`: a PyTorch-like {@link Module} tree whose parameter names are exactly Hugging Face state-dict
 * names, plus the standard layers (Linear, GPT-2's Conv1D, Embedding, LayerNorm, RMSNorm, Dropout, activations).
 *
 * ```ts
 * import { Linear } from '@peftjs/nn';
 * const layer = new Linear(4, 2);
 * console.log(layer.namedParameters().map(([n]) => n)); // ['weight', 'bias']
 * ```
 * @packageDocumentation
 */

export { ACTIVATION_NAMES, activation, GELU, QuickGELU, ReLU, Sigmoid, SiLU, Tanh } from './activations.js';
export { ModuleDict, ParameterDict } from './containers.js';
export type { ParamOptions } from './init.js';
export { createParameter, isInitSkipped, withoutInit } from './init.js';
export type { EmbeddingOptions, LayerNormOptions, LinearOptions } from './layers.js';
export type { LinearLike } from './linear-like.js';
export { isLinearLike, linearNoBias } from './linear-like.js';
export { Conv1D, Dropout, Embedding, Identity, LayerNorm, Linear, RMSNorm } from './layers.js';
export type { LSTMOptions } from './lstm.js';
export { LSTM } from './lstm.js';
export type {
  LayerModule,
  LoadStateDictOptions,
  LoadStateDictReport,
  StateDict,
  StateDictMismatch,
  TensorLayer,
  TensorLike,
} from './module.js';
export { Module, ModuleList, StateDictError } from './module.js';

/**
 * `@peftjs/registry`: what a PEFT method is ({@link AdapterMethod}), the registry methods plug into, and the
 * shared machinery: target-module matching, freezing, `modules_to_save`, multiple named adapters, merging, shared
 * adapter state, prompt encoders, the model-level forward, and PEFT's adapter files (as bytes; files on disk are in
 * `@peftjs/registry/node`). Browser-safe.
 * @packageDocumentation
 */
export {
  field,
  isBool,
  isIntOrList,
  isNameList,
  isNumber,
  isNumberRecord,
  isPositiveInt,
  isString,
  isStringList,
  isStringOrList,
  normalizeTunerFields,
} from './config.js';
export type { PeftConfigBase, TaskType, TunerConfig } from './config.js';
export { PeftConfigError, PeftError } from './errors.js';
export type { AdapterFiles } from './files.js';
export { decodeAdapterFiles, encodeAdapterFiles, parseAdapterConfig } from './files.js';
export { AdapterCopies, AdapterLayer, ModulesToSaveWrapper } from './layer.js';
export type { AdapterSlot } from './layer.js';
export {
  getAdapterMethod,
  getAdapterMethodByPeftType,
  listAdapterMethods,
  registerAdapter,
  unregisterAdapter,
} from './method.js';
export type {
  AdapterConfigMap,
  AdapterMethod,
  AnyAdapterConfig,
  ForwardContext,
  InjectionContext,
  InjectionTarget,
  MethodKind,
  ModelInfo,
  ModelInputs,
  ModelOutput,
  PromptContext,
  SharedState,
  StateContext,
  TargetContext,
  TrainStepContext,
} from './method.js';
export { modelInfo, removeAdapterName } from './model-util.js';
export { getPeftModel, KEY_PREFIX, PeftModel } from './peft-model.js';
export type { AddAdapterOptions, FromPretrainedOptions } from './peft-model.js';
export { getPreset, listPresets, presetLabel, registerPreset, unregisterPreset } from './presets.js';
export type { MethodPreset, PresetOptions, PresetRecommendation } from './presets.js';
export type { SavedState } from './state.js';
export { candidateModules, describeTargetable, layerIndex, matchesTarget } from './targets.js';

/**
 * `@peftjs/registry`: what a PEFT method is ({@link AdapterMethod}), the registry methods plug into, and the
 * shared machinery: target-module matching, freezing, `modules_to_save`, multiple named adapters, merging, and
 * PEFT's adapter files (`adapter_config.json` + `adapter_model.safetensors`).
 * @packageDocumentation
 */
export {
  field,
  isBool,
  isIntOrList,
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
export { AdapterCopies, AdapterLayer, ModulesToSaveWrapper } from './layer.js';
export type { AdapterSlot } from './layer.js';
export {
  getAdapterMethod,
  getAdapterMethodByPeftType,
  listAdapterMethods,
  registerAdapter,
  unregisterAdapter,
} from './method.js';
export type { AdapterConfigMap, AdapterMethod, AnyAdapterConfig, TargetContext } from './method.js';
export { KEY_PREFIX, PeftModel, getPeftModel } from './peft-model.js';
export type { AddAdapterOptions, AdapterFiles, FromPretrainedOptions } from './peft-model.js';
export { candidateModules, describeTargetable, layerIndex, matchesTarget } from './targets.js';

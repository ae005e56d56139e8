import { PeftConfigError } from './errors.js';

/** PEFT's task types (the `task_type` field). */
export type TaskType = 'CAUSAL_LM' | 'SEQ_CLS' | 'SEQ_2_SEQ_LM' | 'TOKEN_CLS' | 'QUESTION_ANS' | 'FEATURE_EXTRACTION';

/**
 * Fields every PEFT config has. Field names are PEFT's own (snake_case), so a config maps one-to-one onto
 * `adapter_config.json`.
 */
export interface PeftConfigBase {
  peft_type: string;
  task_type?: TaskType | null;
  base_model_name_or_path?: string | null;
  revision?: string | null;
  inference_mode?: boolean;
}

/** Fields of methods that inject layers into target modules (LoRA, DoRA, IA³, …). */
export interface TunerConfig extends PeftConfigBase {
  /** Module names (suffix match on dot boundaries), a regex (full match), or `"all-linear"`. */
  target_modules?: string[] | string | null;
  /** Module names (suffix match) or a regex (full match) never to target. */
  exclude_modules?: string[] | string | null;
  /** Only these layer indices (with list-form target_modules). */
  layers_to_transform?: number[] | number | null;
  /** The name of the layer list in module paths (e.g. "layers", "h"), used with layers_to_transform. */
  layers_pattern?: string[] | string | null;
  /** Modules trained in full and saved with the adapter (e.g. a classifier head). */
  modules_to_save?: string[] | null;
}

/** Read a field of a raw JSON config with a type check. */
export function field<T>(
  raw: Record<string, unknown>,
  name: string,
  fallback: T,
  check: (v: unknown) => boolean,
  expected: string,
): T {
  const v = raw[name];
  if (v === undefined || v === null) return fallback;
  if (!check(v)) throw new PeftConfigError(name, `expected ${expected}, got ${JSON.stringify(v)}`);
  return v as T;
}

export const isNumber = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
export const isPositiveInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) > 0;
export const isString = (v: unknown): boolean => typeof v === 'string';
export const isBool = (v: unknown): boolean => typeof v === 'boolean';
export const isStringList = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');
/** A list of non-empty strings (module names: an empty one would match every module). */
export const isNameList = (v: unknown): boolean =>
  Array.isArray(v) && v.every((x) => typeof x === 'string' && x !== '');
export const isStringOrList = (v: unknown): boolean => typeof v === 'string' || isStringList(v);
const isNamesOrRegex = (v: unknown): boolean => typeof v === 'string' || isNameList(v);
export const isIntOrList = (v: unknown): boolean =>
  Number.isInteger(v) || (Array.isArray(v) && v.every((x) => Number.isInteger(x)));
export const isNumberRecord = (v: unknown): boolean =>
  !!v && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => isNumber(x));

/** Normalise the fields shared by tuner configs (types checked, defaults filled). */
export function normalizeTunerFields(raw: Record<string, unknown>): Omit<TunerConfig, 'peft_type'> {
  const taskTypes = ['CAUSAL_LM', 'SEQ_CLS', 'SEQ_2_SEQ_LM', 'TOKEN_CLS', 'QUESTION_ANS', 'FEATURE_EXTRACTION'];
  return {
    task_type: field(raw, 'task_type', null, (v) => taskTypes.includes(v as string), `one of ${taskTypes.join(', ')}`),
    base_model_name_or_path: field(raw, 'base_model_name_or_path', null, isString, 'a string'),
    revision: field(raw, 'revision', null, isString, 'a string'),
    inference_mode: field(raw, 'inference_mode', false, isBool, 'a boolean'),
    target_modules: field(raw, 'target_modules', null, isNamesOrRegex, 'a list of module names or a regex string'),
    exclude_modules: field(raw, 'exclude_modules', null, isNamesOrRegex, 'a list of module names or a regex string'),
    layers_to_transform: field(raw, 'layers_to_transform', null, isIntOrList, 'an integer or a list of integers'),
    layers_pattern: field(raw, 'layers_pattern', null, isStringOrList, 'a string or a list of strings'),
    modules_to_save: field(raw, 'modules_to_save', null, isNameList, 'a list of non-empty module names'),
  };
}

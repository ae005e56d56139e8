import {
  field,
  isBool,
  isStringOrList,
  type ModelInfo,
  normalizeTunerFields,
  PeftConfigError,
  type TunerConfig,
} from '@peftjs/registry';

/** PEFT's `IA3Config` (field names as in adapter_config.json). */
export interface IA3Config extends TunerConfig {
  peft_type: 'IA3';
  /**
   * Targets whose input (not output) is scaled: a list (a target whose path ends with an entry — no dot boundary,
   * as PEFT) or a regex (full match). Filled from `model_type` when left out.
   */
  feedforward_modules?: string[] | string | null;
  /** `true` (default): l = 1, so training starts from the base model. `false`: l keeps its N(0, 1) draw. */
  init_ia3_weights?: boolean;
  /** Set for layers that store weights [in, out] (GPT-2's Conv1D); corrected per layer as PEFT does. */
  fan_in_fan_out?: boolean;
}

/**
 * PEFT's defaults by `model_type`: `TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING` and
 * `TRANSFORMERS_MODELS_TO_IA3_FEEDFORWARD_MODULES_MAPPING` (peft 0.21, `peft/utils/constants.py`).
 */
export const IA3_DEFAULTS: Readonly<Record<string, { targets: string[]; feedforward: string[] }>> = {
  t5: { targets: ['k', 'v', 'wo'], feedforward: ['wo'] },
  mt5: { targets: ['k', 'v', 'wi_1'], feedforward: [] },
  gpt2: { targets: ['c_attn', 'mlp.c_proj'], feedforward: ['mlp.c_proj'] },
  bloom: { targets: ['query_key_value', 'mlp.dense_4h_to_h'], feedforward: ['mlp.dense_4h_to_h'] },
  roberta: { targets: ['key', 'value', 'output.dense'], feedforward: ['output.dense'] },
  opt: { targets: ['q_proj', 'k_proj', 'fc2'], feedforward: ['fc2'] },
  gptj: { targets: ['q_proj', 'v_proj', 'fc_out'], feedforward: ['fc_out'] },
  gpt_neox: { targets: ['query_key_value', 'dense_4h_to_h'], feedforward: ['dense_4h_to_h'] },
  gpt_neo: { targets: ['q_proj', 'v_proj', 'c_proj'], feedforward: ['c_proj'] },
  bart: { targets: ['q_proj', 'v_proj', 'fc2'], feedforward: ['fc2'] },
  gpt_bigcode: { targets: ['c_attn', 'mlp.c_proj'], feedforward: ['mlp.c_proj'] },
  llama: { targets: ['k_proj', 'v_proj', 'down_proj'], feedforward: ['down_proj'] },
  llama4: { targets: ['q_proj', 'v_proj', 'down_proj'], feedforward: ['down_proj'] },
  mistral: { targets: ['k_proj', 'v_proj', 'down_proj'], feedforward: ['down_proj'] },
  mixtral: { targets: ['k_proj', 'v_proj', 'w2'], feedforward: ['w2'] },
  bert: { targets: ['key', 'value', 'output.dense'], feedforward: ['output.dense'] },
  'deberta-v2': { targets: ['key_proj', 'value_proj', 'output.dense'], feedforward: ['output.dense'] },
  deberta: { targets: ['in_proj', 'output.dense'], feedforward: ['output.dense'] },
  RefinedWebModel: { targets: ['query_key_value', 'dense_4h_to_h'], feedforward: ['dense_4h_to_h'] },
  RefinedWeb: { targets: ['query_key_value', 'dense_4h_to_h'], feedforward: ['dense_4h_to_h'] },
  falcon: { targets: ['query_key_value', 'dense_4h_to_h'], feedforward: ['dense_4h_to_h'] },
  phi: { targets: ['q_proj', 'v_proj', 'fc2'], feedforward: ['fc2'] },
  gemma: { targets: ['q_proj', 'v_proj', 'down_proj'], feedforward: ['down_proj'] },
  gemma2: { targets: ['q_proj', 'v_proj', 'down_proj'], feedforward: ['down_proj'] },
  gemma3_text: { targets: ['q_proj', 'v_proj', 'down_proj'], feedforward: ['down_proj'] },
  qwen2: { targets: ['q_proj', 'v_proj', 'down_proj'], feedforward: ['down_proj'] },
  qwen3: { targets: ['q_proj', 'v_proj', 'down_proj'], feedforward: ['down_proj'] },
};

/** Validate a raw IA³ config as PEFT's `IA3Config.__post_init__` does, and fill defaults. */
export function normalizeIA3Config(raw: Record<string, unknown>): IA3Config {
  const config: IA3Config = {
    ...normalizeTunerFields(raw),
    // IA3Config has no layer selection: PEFT drops these keys as unknown.
    layers_to_transform: null,
    layers_pattern: null,
    peft_type: 'IA3',
    feedforward_modules: field(raw, 'feedforward_modules', null, isStringOrList, 'a list of module names or a regex'),
    init_ia3_weights: field(raw, 'init_ia3_weights', true, isBool, 'a boolean'),
    fan_in_fan_out: field(raw, 'fan_in_fan_out', false, isBool, 'a boolean'),
  };
  const targets = config.target_modules;
  const ff = config.feedforward_modules;
  if (Array.isArray(targets) && Array.isArray(ff)) {
    const missing = ff.filter((m) => !targets.includes(m));
    if (missing.length) {
      throw new PeftConfigError(
        'feedforward_modules',
        `must be a subset of target_modules (not in it: ${missing.map((m) => JSON.stringify(m)).join(', ')})`,
      );
    }
  }
  return config;
}

/** PEFT's `IA3Model._prepare_adapter_config`: default targets and feed-forward modules by `model_type`. */
export function prepareIA3Config(config: IA3Config, model: ModelInfo): IA3Config {
  const defaults = model.modelType !== undefined ? IA3_DEFAULTS[model.modelType] : undefined;
  const out = { ...config };
  if (out.target_modules == null) {
    if (!defaults)
      throw new PeftConfigError(
        'target_modules',
        `is required: PEFT has no IA³ default for model_type '${model.modelType ?? 'unknown'}'`,
      );
    out.target_modules = [...defaults.targets];
  }
  if (out.feedforward_modules == null) {
    if (!defaults)
      throw new PeftConfigError(
        'feedforward_modules',
        `is required: PEFT has no IA³ default for model_type '${model.modelType ?? 'unknown'}'`,
      );
    out.feedforward_modules = [...defaults.feedforward];
  }
  return out;
}

/** PEFT's `_check_target_module_feedforward`: a regex must match the whole path; a list entry must end it. */
export function isFeedforward(config: IA3Config, path: string): boolean {
  const ff = config.feedforward_modules;
  if (ff == null) return false;
  if (typeof ff === 'string') {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${ff})$`);
    } catch (e) {
      throw new PeftConfigError('feedforward_modules', `invalid regular expression '${ff}': ${(e as Error).message}`);
    }
    return re.test(path);
  }
  return ff.some((name) => path.endsWith(name));
}

/** The `adapter_config.json` object (PEFT 0.21's IA3Config fields). */
export function ia3ConfigToJSON(c: IA3Config): Record<string, unknown> {
  return {
    peft_type: 'IA3',
    task_type: c.task_type ?? null,
    base_model_name_or_path: c.base_model_name_or_path ?? null,
    revision: c.revision ?? null,
    inference_mode: c.inference_mode ?? false,
    target_modules: c.target_modules ?? null,
    exclude_modules: c.exclude_modules ?? null,
    feedforward_modules: c.feedforward_modules ?? null,
    fan_in_fan_out: c.fan_in_fan_out ?? false,
    modules_to_save: c.modules_to_save ?? null,
    init_ia3_weights: c.init_ia3_weights ?? true,
  };
}

import {
  field,
  isBool,
  isNumber,
  isNumberRecord,
  isPositiveInt,
  normalizeTunerFields,
  PeftConfigError,
  type TunerConfig,
} from '@peftjs/registry';

/**
 * PEFT's `LoraConfig` (field names as in adapter_config.json). Defaults as PEFT 0.21: r 8, lora_alpha 8,
 * lora_dropout 0, bias "none", init_lora_weights true.
 */
export interface LoraConfig extends TunerConfig {
  peft_type: 'LORA';
  /** Rank. */
  r?: number;
  /** Scaling numerator: scaling = lora_alpha / r (or / √r with use_rslora). */
  lora_alpha?: number;
  /** Dropout on the adapter's input. */
  lora_dropout?: number;
  /** Set for layers that store weights [in, out] (GPT-2's Conv1D); corrected automatically per layer as PEFT does. */
  fan_in_fan_out?: boolean;
  /** Which biases train: "none", "all", or "lora_only" (biases of adapted layers). */
  bias?: 'none' | 'all' | 'lora_only';
  /** Rank-stabilised scaling lora_alpha / √r. */
  use_rslora?: boolean;
  /** true: Kaiming-uniform A, zero B; "gaussian": A ~ N(0, 1/r²), zero B; false: both random (debugging). */
  init_lora_weights?: boolean | 'gaussian';
  /** Per-module rank overrides: regex key → r (first match, as PEFT). */
  rank_pattern?: Record<string, number>;
  /** Per-module alpha overrides. */
  alpha_pattern?: Record<string, number>;
  /** DoRA: weight-decomposed LoRA (needs the `@peftjs/dora` package). */
  use_dora?: boolean;
  /** A bias on lora_B. */
  lora_bias?: boolean;
}

/** LoraConfig with every field filled. */
export type ResolvedLoraConfig = Required<
  Pick<
    LoraConfig,
    | 'r'
    | 'lora_alpha'
    | 'lora_dropout'
    | 'fan_in_fan_out'
    | 'bias'
    | 'use_rslora'
    | 'init_lora_weights'
    | 'rank_pattern'
    | 'alpha_pattern'
    | 'use_dora'
    | 'lora_bias'
  >
> &
  LoraConfig;

/** Fields LoRA does not implement: refused when set to anything but their default. */
const UNSUPPORTED: Record<string, unknown> = {
  target_parameters: null,
  layer_replication: null,
  trainable_token_indices: null,
  loftq_config: {},
  eva_config: null,
  corda_config: null,
  lora_ga_config: null,
  megatron_config: null,
  use_qalora: false,
  alora_invocation_tokens: null,
  velora_config: null,
  kasa_config: null,
  monteclora_config: null,
  arrow_config: null,
  use_bdlora: null,
};

/** Validate a raw LoRA config (from JSON or the user) as PEFT does, and fill defaults. */
export function normalizeLoraConfig(raw: Record<string, unknown>): ResolvedLoraConfig {
  if (raw.peft_type !== 'LORA')
    throw new PeftConfigError('peft_type', `expected "LORA", got ${JSON.stringify(raw.peft_type)}`);
  for (const [k, def] of Object.entries(UNSUPPORTED)) {
    const v = raw[k];
    if (v !== undefined && v !== null && JSON.stringify(v) !== JSON.stringify(def)) {
      throw new PeftConfigError(k, `is not supported by @peftjs/lora (got ${JSON.stringify(v)})`);
    }
  }
  const base = normalizeTunerFields(raw);
  const init = raw.init_lora_weights ?? true;
  if (!(init === true || init === false || init === 'gaussian')) {
    throw new PeftConfigError(
      'init_lora_weights',
      `${JSON.stringify(init)} is not supported (use true, false or "gaussian")`,
    );
  }
  const cfg: ResolvedLoraConfig = {
    ...base,
    peft_type: 'LORA',
    r: field(raw, 'r', 8, isPositiveInt, 'a positive integer'),
    lora_alpha: field(raw, 'lora_alpha', 8, isNumber, 'a number'),
    lora_dropout: field(
      raw,
      'lora_dropout',
      0,
      (v) => isNumber(v) && (v as number) >= 0 && (v as number) < 1,
      'a number in [0, 1)',
    ),
    fan_in_fan_out: field(raw, 'fan_in_fan_out', false, isBool, 'a boolean'),
    bias: field(
      raw,
      'bias',
      'none',
      (v) => v === 'none' || v === 'all' || v === 'lora_only',
      '"none", "all" or "lora_only"',
    ),
    use_rslora: field(raw, 'use_rslora', false, isBool, 'a boolean'),
    init_lora_weights: init,
    rank_pattern: field(raw, 'rank_pattern', {}, isNumberRecord, 'an object of module patterns to ranks'),
    alpha_pattern: field(raw, 'alpha_pattern', {}, isNumberRecord, 'an object of module patterns to alphas'),
    use_dora: field(raw, 'use_dora', false, isBool, 'a boolean'),
    lora_bias: field(raw, 'lora_bias', false, isBool, 'a boolean'),
  };
  for (const [k, v] of Object.entries(cfg.rank_pattern)) {
    if (!isPositiveInt(v))
      throw new PeftConfigError('rank_pattern', `rank for '${k}' must be a positive integer, got ${v}`);
  }
  // PEFT's LoraConfig.__post_init__ checks:
  if (cfg.use_dora && cfg.lora_bias) throw new PeftConfigError('lora_bias', 'cannot be combined with use_dora');
  if (typeof cfg.target_modules === 'string' && cfg.layers_to_transform != null) {
    throw new PeftConfigError('layers_to_transform', 'cannot be used when target_modules is a string');
  }
  if (typeof cfg.target_modules === 'string' && cfg.layers_pattern != null) {
    throw new PeftConfigError('layers_pattern', 'cannot be used when target_modules is a string');
  }
  if (cfg.layers_pattern != null && cfg.layers_to_transform == null) {
    throw new PeftConfigError('layers_pattern', 'is only used together with layers_to_transform');
  }
  return cfg;
}

/** PEFT's `get_pattern_key`: the first pattern (in order) matching the module path, else undefined. */
export function patternValue(patterns: Record<string, number>, path: string): number | undefined {
  for (const [k, v] of Object.entries(patterns)) {
    if (new RegExp(`^(.*\\.)?(${k})$`).test(path)) return v;
  }
  return undefined;
}

/** The adapter_config.json fields of a LoRA config (every field PEFT 0.21 writes, at its default where unused). */
export function loraConfigToJSON(c: ResolvedLoraConfig): Record<string, unknown> {
  return {
    ...UNSUPPORTED,
    auto_mapping: null,
    base_model_name_or_path: c.base_model_name_or_path ?? null,
    revision: c.revision ?? null,
    task_type: c.task_type ?? null,
    inference_mode: true,
    peft_type: 'LORA',
    r: c.r,
    lora_alpha: c.lora_alpha,
    lora_dropout: c.lora_dropout,
    target_modules: c.target_modules ?? null,
    exclude_modules: c.exclude_modules ?? null,
    fan_in_fan_out: c.fan_in_fan_out,
    bias: c.bias,
    use_rslora: c.use_rslora,
    modules_to_save: c.modules_to_save ?? null,
    init_lora_weights: c.init_lora_weights,
    layers_to_transform: c.layers_to_transform ?? null,
    layers_pattern: c.layers_pattern ?? null,
    rank_pattern: c.rank_pattern,
    alpha_pattern: c.alpha_pattern,
    use_dora: c.use_dora,
    lora_bias: c.lora_bias,
    megatron_core: 'megatron.core',
    qalora_group_size: 16,
    ensure_weight_tying: false,
  };
}

import {
  field,
  isBool,
  isNumber,
  isPositiveInt,
  normalizeTunerFields,
  PeftConfigError,
  type TunerConfig,
} from '@peftjs/registry';

/**
 * PEFT's `AdaLoraConfig` (field names as in adapter_config.json; PEFT 0.21 defaults): the SVD-form adapter starts at
 * `init_r` ranks per module and the rank allocator cuts the total down to `target_r` per module on average over
 * training (cubic schedule between `tinit` and `total_step − tfinal`).
 */
export interface AdaLoraConfig extends TunerConfig {
  peft_type: 'ADALORA';
  /** Average rank per module at the end of the budget schedule (default 8). */
  target_r?: number;
  /** Rank every module starts with (default 12). */
  init_r?: number;
  /** Steps of warm-up before any rank is cut (default 0). */
  tinit?: number;
  /** Steps at the end with the final ranks frozen (default 0). */
  tfinal?: number;
  /** Mask every deltaT steps during the schedule (default 1). */
  deltaT?: number;
  /** EMA factor of the sensitivity (default 0.85). */
  beta1?: number;
  /** EMA factor of the uncertainty (default 0.85). */
  beta2?: number;
  /** Weight of the orthogonal regulariser added to the training loss (default 0.5). */
  orth_reg_weight?: number;
  /** Number of training steps the budget schedule spans (required, > 0). */
  total_step?: number | null;
  /**
   * Which singular values each module keeps, by `<module path>.lora_E` (or, in memory, `….lora_E.<adapter>`): set
   * by the allocator and written to adapter_config.json; a loaded adapter's modules are created at these ranks.
   */
  rank_pattern?: Record<string, boolean[]> | null;
  /** Scaling numerator: ΔW = B (A ⊙ E) · lora_alpha / ranknum (default 8). */
  lora_alpha?: number;
  /** Dropout on the adapter's input (default 0). */
  lora_dropout?: number;
  /** Set for layers that store weights [in, out] (GPT-2's Conv1D); corrected per layer as PEFT does. */
  fan_in_fan_out?: boolean;
  /** Which biases train: "none", "all", or "lora_only". */
  bias?: 'none' | 'all' | 'lora_only';
  /** Truthy: E = 0, A and B ~ N(0, 0.02) (PEFT); false: all three N(0, 1). */
  init_lora_weights?: boolean | string;
  /** Ignored by AdaLoRA (PEFT warns when it is not 8); use init_r. */
  r?: number;
}

/** AdaLoraConfig with every field filled. */
export type ResolvedAdaLoraConfig = Required<
  Pick<
    AdaLoraConfig,
    | 'target_r'
    | 'init_r'
    | 'tinit'
    | 'tfinal'
    | 'deltaT'
    | 'beta1'
    | 'beta2'
    | 'orth_reg_weight'
    | 'lora_alpha'
    | 'lora_dropout'
    | 'fan_in_fan_out'
    | 'bias'
    | 'init_lora_weights'
    | 'r'
  >
> &
  AdaLoraConfig & { total_step: number; rank_pattern: Record<string, boolean[]> | null };

/** Fields AdaLoRA does not implement: refused when set to anything but their default. */
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
  use_dora: false,
  use_rslora: false,
  lora_bias: false,
  alpha_pattern: {},
};

const isNonNegInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0;
const isOpenUnit = (v: unknown): boolean => isNumber(v) && (v as number) > 0 && (v as number) < 1;
const isRankPattern = (v: unknown): boolean =>
  !!v &&
  typeof v === 'object' &&
  !Array.isArray(v) &&
  Object.values(v).every((x) => Array.isArray(x) && x.every((b) => typeof b === 'boolean' || b === 0 || b === 1));

/** Validate a raw AdaLoRA config as PEFT's `AdaLoraConfig.__post_init__` does, and fill defaults. */
export function normalizeAdaLoraConfig(raw: Record<string, unknown>): ResolvedAdaLoraConfig {
  if (raw.peft_type !== 'ADALORA')
    throw new PeftConfigError('peft_type', `expected "ADALORA", got ${JSON.stringify(raw.peft_type)}`);
  if (raw.use_dora === true) throw new PeftConfigError('use_dora', 'ADALORA does not support DoRA');
  const loftq = raw.loftq_config;
  if (loftq && typeof loftq === 'object' && Object.keys(loftq).length > 0)
    throw new PeftConfigError('loftq_config', 'ADALORA does not support LoftQ');
  for (const [k, def] of Object.entries(UNSUPPORTED)) {
    const v = raw[k];
    if (v !== undefined && v !== null && JSON.stringify(v) !== JSON.stringify(def)) {
      throw new PeftConfigError(k, `is not supported by @peftjs/adalora (got ${JSON.stringify(v)})`);
    }
  }
  const base = normalizeTunerFields(raw);
  const init = raw.init_lora_weights ?? true;
  if (typeof init !== 'boolean' && typeof init !== 'string')
    throw new PeftConfigError('init_lora_weights', `expected a boolean, got ${JSON.stringify(init)}`);
  const totalStep = raw.total_step;
  if (totalStep === undefined || totalStep === null || !isPositiveInt(totalStep)) {
    throw new PeftConfigError(
      'total_step',
      `AdaLoRA needs the number of training steps (a positive integer) for its budget schedule, got ${JSON.stringify(totalStep ?? null)}`,
    );
  }
  const rankPatternRaw = field<Record<string, (boolean | number)[]> | null>(
    raw,
    'rank_pattern',
    null,
    isRankPattern,
    'an object of lora_E keys to lists of booleans',
  );
  const rankPattern = rankPatternRaw
    ? Object.fromEntries(Object.entries(rankPatternRaw).map(([k, v]) => [k, v.map((b) => b === true || b === 1)]))
    : null;
  const cfg: ResolvedAdaLoraConfig = {
    ...base,
    peft_type: 'ADALORA',
    r: field(raw, 'r', 8, isPositiveInt, 'a positive integer'),
    target_r: field(raw, 'target_r', 8, isNonNegInt, 'a non-negative integer'),
    init_r: field(raw, 'init_r', 12, isNonNegInt, 'a non-negative integer'),
    tinit: field(raw, 'tinit', 0, isNonNegInt, 'a non-negative integer'),
    tfinal: field(raw, 'tfinal', 0, isNonNegInt, 'a non-negative integer'),
    deltaT: field(raw, 'deltaT', 1, isPositiveInt, 'a positive integer'),
    beta1: field(raw, 'beta1', 0.85, isOpenUnit, 'a number in (0, 1)'),
    beta2: field(raw, 'beta2', 0.85, isOpenUnit, 'a number in (0, 1)'),
    orth_reg_weight: field(raw, 'orth_reg_weight', 0.5, (v) => isNumber(v) && (v as number) >= 0, 'a number >= 0'),
    total_step: totalStep as number,
    rank_pattern: rankPattern,
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
    init_lora_weights: init as boolean | string,
  };
  if (cfg.tinit >= cfg.total_step - cfg.tfinal) {
    throw new PeftConfigError(
      'tinit',
      `the schedule leaves no budgeting phase (tinit ${cfg.tinit} must be < total_step ${cfg.total_step} − tfinal ${cfg.tfinal}); decrease tinit/tfinal or increase total_step`,
    );
  }
  if (cfg.target_r > cfg.init_r)
    throw new PeftConfigError('target_r', `(${cfg.target_r}) must not exceed init_r (${cfg.init_r})`);
  if (typeof cfg.target_modules === 'string' && cfg.layers_to_transform != null) {
    throw new PeftConfigError('layers_to_transform', 'cannot be used when target_modules is a string');
  }
  if (cfg.layers_pattern != null && cfg.layers_to_transform == null) {
    throw new PeftConfigError('layers_pattern', 'is only used together with layers_to_transform');
  }
  return cfg;
}

/** `<path>.lora_E` for an in-memory rank_pattern key `<path>.lora_E.<adapter>` (PEFT drops the adapter on save). */
export function savedRankPatternKey(key: string): string {
  const i = key.lastIndexOf('.lora_E');
  return i < 0 ? key : key.slice(0, i + '.lora_E'.length);
}

/** The rank_pattern entry of module `path` (keys with or without the adapter name), or undefined. */
export function rankPatternOf(
  pattern: Record<string, boolean[]> | null | undefined,
  path: string,
  adapterName: string,
): boolean[] | undefined {
  if (!pattern) return undefined;
  return pattern[`${path}.lora_E.${adapterName}`] ?? pattern[`${path}.lora_E`];
}

/** The adapter_config.json fields of an AdaLoRA config (every field PEFT 0.21 writes). */
export function adaLoraConfigToJSON(c: ResolvedAdaLoraConfig): Record<string, unknown> {
  const rankPattern = c.rank_pattern
    ? Object.fromEntries(
        Object.entries(c.rank_pattern)
          .map(([k, v]) => [savedRankPatternKey(k), [...v]] as const)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      )
    : null;
  return {
    ...UNSUPPORTED,
    auto_mapping: null,
    base_model_name_or_path: c.base_model_name_or_path ?? null,
    revision: c.revision ?? null,
    task_type: c.task_type ?? null,
    inference_mode: true,
    peft_type: 'ADALORA',
    r: c.r,
    target_r: c.target_r,
    init_r: c.init_r,
    tinit: c.tinit,
    tfinal: c.tfinal,
    deltaT: c.deltaT,
    beta1: c.beta1,
    beta2: c.beta2,
    orth_reg_weight: c.orth_reg_weight,
    total_step: c.total_step,
    rank_pattern: rankPattern,
    lora_alpha: c.lora_alpha,
    lora_dropout: c.lora_dropout,
    target_modules: c.target_modules ?? null,
    exclude_modules: c.exclude_modules ?? null,
    fan_in_fan_out: c.fan_in_fan_out,
    bias: c.bias,
    modules_to_save: c.modules_to_save ?? null,
    init_lora_weights: c.init_lora_weights,
    layers_to_transform: c.layers_to_transform ?? null,
    layers_pattern: c.layers_pattern ?? null,
    megatron_core: 'megatron.core',
    qalora_group_size: 16,
    ensure_weight_tying: false,
  };
}

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
 * PEFT's `VBLoRAConfig` (field names as in adapter_config.json). Defaults as PEFT 0.21: r 4, num_vectors 256,
 * vector_length 256, topk 2, init_vector_bank_bound 0.02, init_logits_std 0.1.
 */
export interface VBLoRAConfig extends TunerConfig {
  peft_type: 'VBLORA';
  /** Rank of A [r, in] and B [out, r]. */
  r?: number;
  /** Vectors in the bank (N). */
  num_vectors?: number;
  /**
   * Length of each bank vector (L); every target's in and out features must be divisible by it. `"auto"` (a
   * peftjs convenience for presets, never written to files): the largest power of two up to 256 that divides every
   * target's dimensions, fixed when the adapter is created.
   */
  vector_length?: number | 'auto';
  /** Bank vectors mixed per sub-vector of A and B. */
  topk?: number;
  /** Save only the top-k indices and the first k − 1 softmax weights of each logits row (inference only on load). */
  save_only_topk_weights?: boolean;
  /** Dropout on the adapter's input. */
  vblora_dropout?: number;
  /** Set for layers that store weights [in, out] (GPT-2's Conv1D); corrected per layer as PEFT does. */
  fan_in_fan_out?: boolean;
  /** Which biases train: "none", "all" or "vblora_only". */
  bias?: 'none' | 'all' | 'vblora_only';
  /** The bank starts uniform in [−bound, bound]. */
  init_vector_bank_bound?: number;
  /** The logits start normal with this standard deviation. */
  init_logits_std?: number;
}

export type ResolvedVBLoRAConfig = Required<
  Pick<
    VBLoRAConfig,
    | 'r'
    | 'num_vectors'
    | 'vector_length'
    | 'topk'
    | 'save_only_topk_weights'
    | 'vblora_dropout'
    | 'fan_in_fan_out'
    | 'bias'
    | 'init_vector_bank_bound'
    | 'init_logits_std'
  >
> &
  VBLoRAConfig;

/** Validate a raw VB-LoRA config as PEFT does, and fill defaults. */
export function normalizeVBLoRAConfig(raw: Record<string, unknown>): ResolvedVBLoRAConfig {
  if (raw.peft_type !== 'VBLORA')
    throw new PeftConfigError('peft_type', `expected "VBLORA", got ${JSON.stringify(raw.peft_type)}`);
  const base = normalizeTunerFields(raw);
  const cfg: ResolvedVBLoRAConfig = {
    ...base,
    peft_type: 'VBLORA',
    r: field(raw, 'r', 4, isPositiveInt, 'a positive integer'),
    num_vectors: field(raw, 'num_vectors', 256, isPositiveInt, 'a positive integer'),
    vector_length: field<number | 'auto'>(
      raw,
      'vector_length',
      256,
      (v) => v === 'auto' || isPositiveInt(v),
      'a positive integer (or "auto")',
    ),
    topk: field(raw, 'topk', 2, isPositiveInt, 'a positive integer'),
    save_only_topk_weights: field(raw, 'save_only_topk_weights', false, isBool, 'a boolean'),
    vblora_dropout: field(
      raw,
      'vblora_dropout',
      0,
      (v) => isNumber(v) && (v as number) >= 0 && (v as number) < 1,
      'a number in [0, 1)',
    ),
    fan_in_fan_out: field(raw, 'fan_in_fan_out', false, isBool, 'a boolean'),
    bias: field(
      raw,
      'bias',
      'none',
      (v) => v === 'none' || v === 'all' || v === 'vblora_only',
      '"none", "all" or "vblora_only"',
    ),
    init_vector_bank_bound: field(raw, 'init_vector_bank_bound', 0.02, isNumber, 'a number'),
    init_logits_std: field(raw, 'init_logits_std', 0.1, isNumber, 'a number'),
  };
  if (cfg.topk > cfg.num_vectors) {
    throw new PeftConfigError('topk', `${cfg.topk} exceeds num_vectors ${cfg.num_vectors} (the bank size)`);
  }
  // VBLoRAConfig.__post_init__:
  if (cfg.layers_pattern != null && cfg.layers_to_transform == null)
    throw new PeftConfigError('layers_pattern', 'is only used together with layers_to_transform');
  return cfg;
}

/** The adapter_config.json fields PEFT 0.21 writes for a VB-LoRA config. */
export function vbloraConfigToJSON(c: ResolvedVBLoRAConfig): Record<string, unknown> {
  return {
    auto_mapping: null,
    base_model_name_or_path: c.base_model_name_or_path ?? null,
    bias: c.bias,
    exclude_modules: c.exclude_modules ?? null,
    fan_in_fan_out: c.fan_in_fan_out,
    inference_mode: true,
    init_logits_std: c.init_logits_std,
    init_vector_bank_bound: c.init_vector_bank_bound,
    layers_pattern: c.layers_pattern ?? null,
    layers_to_transform: c.layers_to_transform ?? null,
    modules_to_save: c.modules_to_save ?? null,
    num_vectors: c.num_vectors,
    peft_type: 'VBLORA',
    r: c.r,
    revision: c.revision ?? null,
    save_only_topk_weights: c.save_only_topk_weights,
    target_modules: c.target_modules ?? null,
    task_type: c.task_type ?? null,
    topk: c.topk,
    vblora_dropout: c.vblora_dropout,
    vector_length: c.vector_length,
  };
}

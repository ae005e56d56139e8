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
import { WAVELET_FILTERS, WAVELET_REDUCTIONS } from './wavelets.generated.js';

/**
 * PEFT's `WaveFTConfig` (field names as in adapter_config.json). Defaults as PEFT 0.21: n_frequency 2592,
 * scaling 25, wavelet_family "db1", use_idwt true, random_loc_seed 777, init_weights true.
 */
export interface WaveFTConfig extends TunerConfig {
  peft_type: 'WAVEFT';
  /** Trainable wavelet coefficients per layer (1 … out·in). */
  n_frequency?: number;
  /** ΔW is multiplied by this. */
  scaling?: number;
  /** Wavelet of the inverse DWT: db1–db10, sym2–sym10, coif1–coif5 (PEFT's filter table). */
  wavelet_family?: string;
  /** false: the coefficients are placed in weight space directly (no inverse DWT). */
  use_idwt?: boolean;
  /** Seed of `torch.randperm` that places the coefficients (every layer uses the same seed). */
  random_loc_seed?: number;
  /** Set for layers that store weights [in, out] (GPT-2's Conv1D); corrected per layer as PEFT does. */
  fan_in_fan_out?: boolean;
  /** Which biases train: "none", "all" or "waveft_only". */
  bias?: 'none' | 'all' | 'waveft_only';
  /** Per-module n_frequency overrides: regex key → n (first match, as PEFT's get_pattern_key). */
  n_frequency_pattern?: Record<string, number>;
  /** Split n_frequency × (number of layers) across the layers in proportion to their sizes. */
  proportional_parameters?: boolean;
  /** true: coefficients start at zero (ΔW = 0); false: N(0, 0.01²). */
  init_weights?: boolean;
}

export type ResolvedWaveFTConfig = Required<
  Pick<
    WaveFTConfig,
    | 'n_frequency'
    | 'scaling'
    | 'wavelet_family'
    | 'use_idwt'
    | 'random_loc_seed'
    | 'fan_in_fan_out'
    | 'bias'
    | 'n_frequency_pattern'
    | 'proportional_parameters'
    | 'init_weights'
  >
> &
  WaveFTConfig;

/** Validate a raw WaveFT config as PEFT does, and fill defaults. */
export function normalizeWaveFTConfig(raw: Record<string, unknown>): ResolvedWaveFTConfig {
  if (raw.peft_type !== 'WAVEFT')
    throw new PeftConfigError('peft_type', `expected "WAVEFT", got ${JSON.stringify(raw.peft_type)}`);
  const base = normalizeTunerFields(raw);
  const cfg: ResolvedWaveFTConfig = {
    ...base,
    peft_type: 'WAVEFT',
    n_frequency: field(raw, 'n_frequency', 2592, isPositiveInt, 'a positive integer'),
    scaling: field(raw, 'scaling', 25, isNumber, 'a number'),
    wavelet_family: field(raw, 'wavelet_family', 'db1', (v) => typeof v === 'string', 'a string'),
    use_idwt: field(raw, 'use_idwt', true, isBool, 'a boolean'),
    random_loc_seed: field(raw, 'random_loc_seed', 777, Number.isSafeInteger, 'an integer'),
    fan_in_fan_out: field(raw, 'fan_in_fan_out', false, isBool, 'a boolean'),
    bias: field(
      raw,
      'bias',
      'none',
      (v) => v === 'none' || v === 'all' || v === 'waveft_only',
      '"none", "all" or "waveft_only"',
    ),
    n_frequency_pattern: field(raw, 'n_frequency_pattern', {}, isNumberRecord, 'an object of module patterns to n'),
    proportional_parameters: field(raw, 'proportional_parameters', false, isBool, 'a boolean'),
    init_weights: field(raw, 'init_weights', true, isBool, 'a boolean'),
  };
  for (const [k, v] of Object.entries(cfg.n_frequency_pattern)) {
    if (!isPositiveInt(v))
      throw new PeftConfigError('n_frequency_pattern', `n_frequency for '${k}' must be a positive integer, got ${v}`);
  }
  // WaveFTConfig.__post_init__:
  if (typeof cfg.target_modules === 'string' && cfg.layers_to_transform != null)
    throw new PeftConfigError('layers_to_transform', 'cannot be used when target_modules is a string');
  if (typeof cfg.target_modules === 'string' && cfg.layers_pattern != null)
    throw new PeftConfigError('layers_pattern', 'cannot be used when target_modules is a string');
  if (cfg.layers_pattern != null && cfg.layers_to_transform == null)
    throw new PeftConfigError('layers_pattern', 'is only used together with layers_to_transform');
  if (!(cfg.wavelet_family in WAVELET_REDUCTIONS)) {
    throw new PeftConfigError(
      'wavelet_family',
      `'${cfg.wavelet_family}' is not supported; PEFT supports ${Object.keys(WAVELET_FILTERS).join(', ')}`,
    );
  }
  // PEFT's config accepts these names but its filter table lacks them, so PEFT fails when building ΔW: say so now.
  if (!(cfg.wavelet_family in WAVELET_FILTERS)) {
    throw new PeftConfigError(
      'wavelet_family',
      `'${cfg.wavelet_family}' passes PEFT's config check but PEFT has no filters for it (it fails at runtime); use one of ${Object.keys(WAVELET_FILTERS).join(', ')}`,
    );
  }
  // PEFT pads by the family's reduction and crops by (2L − 3) // 2 per side, which gives back [out, in] only when the
  // reduction is L − 2. PEFT 0.21's coif5 has 48 taps against a reduction of 28, so its ΔW has the wrong shape and
  // PEFT's forward fails: refuse it here with the reason.
  const taps = WAVELET_FILTERS[cfg.wavelet_family].recLo.length;
  const [reduction] = WAVELET_REDUCTIONS[cfg.wavelet_family];
  if (reduction !== taps - 2) {
    throw new PeftConfigError(
      'wavelet_family',
      `'${cfg.wavelet_family}': PEFT's filter has ${taps} taps but its padding table reduces by ${reduction}, so PEFT cannot build ΔW of the layer's shape with it`,
    );
  }
  return cfg;
}

/** PEFT's `get_pattern_key` over n_frequency_pattern: the first pattern (in order) matching the path. */
export function patternValue(patterns: Record<string, number>, path: string): number | undefined {
  for (const [k, v] of Object.entries(patterns)) {
    if (new RegExp(`^(.*\\.)?(${k})$`).test(path)) return v;
  }
  return undefined;
}

/** The adapter_config.json fields PEFT 0.21 writes for a WaveFT config. */
export function waveftConfigToJSON(c: ResolvedWaveFTConfig): Record<string, unknown> {
  return {
    auto_mapping: null,
    base_model_name_or_path: c.base_model_name_or_path ?? null,
    bias: c.bias,
    exclude_modules: c.exclude_modules ?? null,
    fan_in_fan_out: c.fan_in_fan_out,
    inference_mode: true,
    init_weights: c.init_weights,
    layers_pattern: c.layers_pattern ?? null,
    layers_to_transform: c.layers_to_transform ?? null,
    modules_to_save: c.modules_to_save ?? null,
    n_frequency: c.n_frequency,
    n_frequency_pattern: c.n_frequency_pattern,
    peft_type: 'WAVEFT',
    proportional_parameters: c.proportional_parameters,
    random_loc_seed: c.random_loc_seed,
    revision: c.revision ?? null,
    scaling: c.scaling,
    target_modules: c.target_modules ?? null,
    task_type: c.task_type ?? null,
    use_idwt: c.use_idwt,
    wavelet_family: c.wavelet_family,
  };
}

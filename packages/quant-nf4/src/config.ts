import type { QuantType4bit } from './codes.js';
import { QuantizationError } from './errors.js';

/**
 * Quantization options shaped like transformers' `BitsAndBytesConfig` (the `quantization_config` of a
 * config.json), so a saved config can be passed as it is. Computation is always float32 in peftjs; the compute
 * dtype is recorded, not used.
 */
export interface BitsAndBytesConfig {
  load_in_4bit?: boolean;
  load_in_8bit?: boolean;
  /** Default 'fp4' (as transformers); QLoRA uses 'nf4'. */
  bnb_4bit_quant_type?: QuantType4bit;
  /** Double quantization of the block scales (default false). */
  bnb_4bit_use_double_quant?: boolean;
  bnb_4bit_compute_dtype?: string | null;
  bnb_4bit_quant_storage?: string;
  /** Module names (or dotted suffixes) to keep in float32. Default: the output head (`lm_head`, a classifier). */
  llm_int8_skip_modules?: readonly string[] | null;
  llm_int8_threshold?: number;
  llm_int8_has_fp16_weight?: boolean;
  llm_int8_enable_fp32_cpu_offload?: boolean;
  quant_method?: string;
  [key: string]: unknown;
}

/** A validated {@link BitsAndBytesConfig}. */
export interface ResolvedQuantConfig {
  bits: 4 | 8;
  quantType: QuantType4bit;
  doubleQuant: boolean;
  skipModules: readonly string[] | null;
  /** The options as given (kept for config.json). */
  raw: BitsAndBytesConfig;
}

export function resolveQuantConfig(cfg: BitsAndBytesConfig): ResolvedQuantConfig {
  if (!cfg || typeof cfg !== 'object')
    throw new QuantizationError('BAD_CONFIG', 'quantization config must be an object');
  if (cfg.quant_method !== undefined && cfg.quant_method !== 'bitsandbytes') {
    throw new QuantizationError('BAD_CONFIG', `quant_method ${JSON.stringify(cfg.quant_method)} is not bitsandbytes`);
  }
  const four = cfg.load_in_4bit ?? (cfg._load_in_4bit as boolean | undefined) ?? false;
  const eight = cfg.load_in_8bit ?? (cfg._load_in_8bit as boolean | undefined) ?? false;
  if (four === eight) {
    throw new QuantizationError('BAD_CONFIG', 'set exactly one of load_in_4bit and load_in_8bit');
  }
  const qt = cfg.bnb_4bit_quant_type ?? 'fp4';
  if (qt !== 'nf4' && qt !== 'fp4') {
    throw new QuantizationError('BAD_QUANT_TYPE', `unknown bnb_4bit_quant_type ${JSON.stringify(qt)} (nf4 or fp4)`);
  }
  const storage = cfg.bnb_4bit_quant_storage ?? 'uint8';
  if (storage !== 'uint8') {
    throw new QuantizationError('BAD_CONFIG', `bnb_4bit_quant_storage '${storage}' is not supported (uint8)`);
  }
  const skip = cfg.llm_int8_skip_modules ?? null;
  if (skip !== null && (!Array.isArray(skip) || !skip.every((s) => typeof s === 'string'))) {
    throw new QuantizationError('BAD_CONFIG', 'llm_int8_skip_modules must be a list of module names');
  }
  return {
    bits: four ? 4 : 8,
    quantType: qt,
    doubleQuant: cfg.bnb_4bit_use_double_quant ?? false,
    skipModules: skip,
    raw: cfg,
  };
}

/** The `quantization_config` transformers writes into config.json for these options. */
export function quantizationConfigJson(c: ResolvedQuantConfig): Record<string, unknown> {
  const r = c.raw;
  return {
    _load_in_4bit: c.bits === 4,
    _load_in_8bit: c.bits === 8,
    bnb_4bit_compute_dtype: r.bnb_4bit_compute_dtype ?? 'float32',
    bnb_4bit_quant_storage: 'uint8',
    bnb_4bit_quant_type: c.quantType,
    bnb_4bit_use_double_quant: c.doubleQuant,
    llm_int8_enable_fp32_cpu_offload: r.llm_int8_enable_fp32_cpu_offload ?? false,
    llm_int8_has_fp16_weight: r.llm_int8_has_fp16_weight ?? false,
    llm_int8_skip_modules: c.skipModules ? [...c.skipModules] : null,
    llm_int8_threshold: r.llm_int8_threshold ?? 6.0,
    load_in_4bit: c.bits === 4,
    load_in_8bit: c.bits === 8,
    quant_method: 'bitsandbytes',
  };
}

/**
 * Whether module path `name` is kept unquantized by `patterns`: a pattern (a module name or dotted path) matches
 * when its segments appear as consecutive segments of the path (`'mlp'` skips `model.layers.0.mlp.up_proj`,
 * `'lm_head'` skips `lm_head`), as transformers matches `llm_int8_skip_modules`.
 */
export function isSkipped(name: string, patterns: readonly string[]): boolean {
  const segs = name.split('.');
  return patterns.some((p) => {
    const ps = p.split('.');
    for (let i = 0; i + ps.length <= segs.length; i++) if (ps.every((s, j) => segs[i + j] === s)) return true;
    return false;
  });
}

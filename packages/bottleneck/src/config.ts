import { PeftConfigError, type TaskType, type TunerConfig } from '@peftjs/registry';

/** The registry's `peft_type` for bottleneck adapters (PEFT has none; AdapterHub's `adapters` defines them). */
export const BOTTLENECK_PEFT_TYPE = 'BOTTLENECK';

/**
 * AdapterHub's `BnConfig` (`adapters` 1.2, `configuration/adapter_config.py`), field for field as its
 * `adapter_config.json` "config" block writes it, plus the registry's `peft_type`.
 */
export interface BottleneckConfig extends TunerConfig {
  peft_type: typeof BOTTLENECK_PEFT_TYPE;
  /** An adapter after the multi-head attention block of each layer (Houlsby). */
  mh_adapter: boolean;
  /** An adapter after the feed-forward block of each layer. */
  output_adapter: boolean;
  /** hidden / bottleneck size; or per layer `{ "1": 8, "default": 16 }`. */
  reduction_factor: number | Record<string, number>;
  /** Activation between the projections (`relu`, `swish`, `gelu`, `tanh`, …, as transformers names them). */
  non_linearity: string;
  original_ln_before?: boolean;
  original_ln_after?: boolean;
  ln_before?: boolean;
  ln_after?: boolean;
  init_weights?: 'bert' | 'mam_adapter' | 'houlsby';
  init_weights_seed?: number | null;
  is_parallel?: boolean;
  scaling?: number | 'learned' | 'channel';
  use_gating?: boolean;
  residual_before_ln?: boolean | 'post_add';
  adapter_residual_before_ln?: boolean;
  inv_adapter?: string | null;
  inv_adapter_reduction_factor?: number | null;
  cross_adapter?: boolean;
  leave_out?: number[];
  dropout?: number;
  phm_layer?: boolean;
  phm_dim?: number;
  factorized_phm_W?: boolean | null;
  shared_W_phm?: boolean | null;
  shared_phm_rule?: boolean | null;
  factorized_phm_rule?: boolean | null;
  phm_c_init?: string | null;
  phm_init_range?: number | null;
  learn_phm?: boolean | null;
  hypercomplex_nonlinearity?: string | null;
  phm_rank?: number | null;
  phm_bias?: boolean | null;
  stochastic_depth?: number | null;
}

/** A bottleneck config with every AdapterHub field filled. */
export type ResolvedBottleneckConfig = Required<Omit<BottleneckConfig, keyof TunerConfig>> &
  BottleneckConfig & { peft_type: typeof BOTTLENECK_PEFT_TYPE };

/** `BnConfig`'s defaults for the optional fields. */
const BN_DEFAULTS = {
  original_ln_before: false,
  original_ln_after: true,
  ln_before: false,
  ln_after: false,
  init_weights: 'bert',
  init_weights_seed: null,
  is_parallel: false,
  scaling: 1.0,
  use_gating: false,
  residual_before_ln: true,
  adapter_residual_before_ln: false,
  inv_adapter: null,
  inv_adapter_reduction_factor: null,
  cross_adapter: false,
  leave_out: [] as number[],
  dropout: 0.0,
  phm_layer: false,
  phm_dim: 4,
  factorized_phm_W: true,
  shared_W_phm: false,
  shared_phm_rule: true,
  factorized_phm_rule: false,
  phm_c_init: 'normal',
  phm_init_range: 0.0001,
  learn_phm: true,
  hypercomplex_nonlinearity: 'glorot-uniform',
  phm_rank: 1,
  phm_bias: true,
  stochastic_depth: 0.0,
} as const;

/** Fields AdapterHub stores as Python floats: written with a decimal point so that `adapters` reads them as floats. */
export const FLOAT_FIELDS: ReadonlySet<string> = new Set([
  'scaling',
  'dropout',
  'stochastic_depth',
  'phm_init_range',
  'inv_adapter_reduction_factor',
]);

/** The named configs of AdapterHub's `ADAPTER_CONFIG_MAP` that are bottleneck adapters (without invertible ones). */
export const BOTTLENECK_PRESETS = {
  /** Pfeiffer et al. (2020): one adapter after the feed-forward block. */
  seq_bn: {
    mh_adapter: false,
    output_adapter: true,
    reduction_factor: 16,
    non_linearity: 'relu',
    original_ln_before: true,
    original_ln_after: true,
    residual_before_ln: true,
    adapter_residual_before_ln: false,
    ln_before: false,
    ln_after: false,
  },
  /** Houlsby et al. (2019): adapters after attention and after the feed-forward block. */
  double_seq_bn: {
    mh_adapter: true,
    output_adapter: true,
    reduction_factor: 16,
    non_linearity: 'swish',
    original_ln_before: false,
    original_ln_after: true,
    residual_before_ln: true,
    adapter_residual_before_ln: false,
    ln_before: false,
    ln_after: false,
  },
  /** He et al. (2021): a parallel adapter beside the feed-forward block, scaled by 4. */
  par_bn: {
    mh_adapter: false,
    output_adapter: true,
    reduction_factor: 2,
    non_linearity: 'relu',
    original_ln_before: false,
    original_ln_after: true,
    residual_before_ln: true,
    ln_before: false,
    ln_after: false,
    is_parallel: true,
    scaling: 4.0,
    init_weights: 'mam_adapter',
  },
} as const satisfies Record<string, Partial<BottleneckConfig>>;

export type BottleneckPresetName = keyof typeof BOTTLENECK_PRESETS;

const ALIASES: Record<string, { preset: BottleneckPresetName; extra?: Partial<BottleneckConfig> }> = {
  seq_bn: { preset: 'seq_bn' },
  pfeiffer: { preset: 'seq_bn' },
  double_seq_bn: { preset: 'double_seq_bn' },
  houlsby: { preset: 'double_seq_bn' },
  par_bn: { preset: 'par_bn' },
  parallel: { preset: 'par_bn' },
  scaled_par_bn: { preset: 'par_bn', extra: { scaling: 'learned' } },
  scaled_parallel: { preset: 'par_bn', extra: { scaling: 'learned' } },
};

/**
 * A bottleneck config by AdapterHub's name (`seq_bn`/`pfeiffer`, `double_seq_bn`/`houlsby`, `par_bn`/`parallel`,
 * `scaled_par_bn`), with `overrides` — `SeqBnConfig(reduction_factor=8)` is `bottleneckConfig('seq_bn', { reduction_factor: 8 })`.
 */
export function bottleneckConfig(
  name: string,
  overrides: Partial<Omit<BottleneckConfig, 'peft_type'>> = {},
): BottleneckConfig {
  const alias = ALIASES[name];
  if (!alias)
    throw new PeftConfigError(
      'config',
      `unknown bottleneck config '${name}' (known: ${Object.keys(ALIASES).join(', ')})`,
    );
  return {
    peft_type: BOTTLENECK_PEFT_TYPE,
    ...BOTTLENECK_PRESETS[alias.preset],
    ...alias.extra,
    ...overrides,
  } as BottleneckConfig;
}

const TASK_TYPES = ['CAUSAL_LM', 'SEQ_CLS', 'SEQ_2_SEQ_LM', 'TOKEN_CLS', 'QUESTION_ANS', 'FEATURE_EXTRACTION'];
const INITS = ['bert', 'mam_adapter', 'houlsby'];
/** Registry fields that make no sense here: placement comes from mh_adapter / output_adapter / leave_out. */
const PLACEMENT_FIELDS = [
  'target_modules',
  'exclude_modules',
  'layers_to_transform',
  'layers_pattern',
  'modules_to_save',
];

type Check = (v: unknown) => boolean;
const isBool: Check = (v) => typeof v === 'boolean';
const isNum: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const isPosNum: Check = (v) => isNum(v) && (v as number) > 0;
const isStr: Check = (v) => typeof v === 'string';
const orNull =
  (c: Check): Check =>
  (v) =>
    v === null || c(v);

function read<T>(
  raw: Readonly<Record<string, unknown>>,
  name: string,
  check: Check,
  expected: string,
  fallback?: T,
): T {
  const v = raw[name];
  if (v === undefined) {
    if (fallback === undefined) throw new PeftConfigError(name, `is required (${expected})`);
    return fallback;
  }
  if (!check(v)) throw new PeftConfigError(name, `expected ${expected}, got ${JSON.stringify(v)}`);
  return v as T;
}

/**
 * Validate a raw bottleneck config (registry form, or AdapterHub's "config" block with `peft_type` added), fill
 * `BnConfig`'s defaults, and reject what this library cannot compute exactly as `adapters` does (PHM / Compacter
 * layers, invertible adapters, stochastic depth).
 */
export function normalizeBottleneckConfig(
  input: Readonly<Record<string, unknown>> | BottleneckConfig,
): ResolvedBottleneckConfig {
  const raw = input as Readonly<Record<string, unknown>>;
  if (raw.peft_type !== undefined && raw.peft_type !== BOTTLENECK_PEFT_TYPE)
    throw new PeftConfigError('peft_type', `expected "${BOTTLENECK_PEFT_TYPE}", got ${JSON.stringify(raw.peft_type)}`);
  if (raw.architecture !== undefined && raw.architecture !== null && raw.architecture !== 'bottleneck')
    throw new PeftConfigError('architecture', `is ${JSON.stringify(raw.architecture)}, not a bottleneck adapter`);
  for (const f of PLACEMENT_FIELDS) {
    if (raw[f] !== undefined && raw[f] !== null)
      throw new PeftConfigError(
        f,
        'is not used by bottleneck adapters: they sit after attention (mh_adapter) and/or the feed-forward block (output_adapter) of every layer but those in leave_out',
      );
  }
  const d = BN_DEFAULTS;
  const rf = raw.reduction_factor;
  if (rf === undefined) throw new PeftConfigError('reduction_factor', 'is required (a number > 0 or a per-layer map)');
  if (!isPosNum(rf)) {
    const ok =
      !!rf &&
      typeof rf === 'object' &&
      !Array.isArray(rf) &&
      Object.entries(rf).every(([k, v]) => (k === 'default' || /^\d+$/.test(k)) && isPosNum(v));
    if (!ok)
      throw new PeftConfigError(
        'reduction_factor',
        `expected a number > 0 or a map of layer index / "default" to numbers > 0, got ${JSON.stringify(rf)}`,
      );
  }
  const scaling = read<number | string>(
    raw,
    'scaling',
    (v) => isNum(v) || v === 'learned' || v === 'channel',
    'a number, "learned" or "channel"',
    d.scaling,
  );
  const residualBeforeLn = read<boolean | string>(
    raw,
    'residual_before_ln',
    (v) => isBool(v) || v === 'post_add',
    'a boolean or "post_add"',
    d.residual_before_ln,
  );
  const leaveOut = read<number[]>(
    raw,
    'leave_out',
    (v) => Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0),
    'a list of layer indices',
    d.leave_out,
  );
  const config: ResolvedBottleneckConfig = {
    peft_type: BOTTLENECK_PEFT_TYPE,
    task_type: read<TaskType | null>(
      raw,
      'task_type',
      orNull((v) => TASK_TYPES.includes(v as string)),
      `one of ${TASK_TYPES.join(', ')}`,
      null as unknown as TaskType,
    ),
    mh_adapter: read(raw, 'mh_adapter', isBool, 'a boolean'),
    output_adapter: read(raw, 'output_adapter', isBool, 'a boolean'),
    reduction_factor: rf as number | Record<string, number>,
    non_linearity: read(raw, 'non_linearity', isStr, 'an activation name'),
    original_ln_before: read(raw, 'original_ln_before', isBool, 'a boolean', d.original_ln_before),
    original_ln_after: read(raw, 'original_ln_after', isBool, 'a boolean', d.original_ln_after),
    ln_before: read(raw, 'ln_before', isBool, 'a boolean', d.ln_before),
    ln_after: read(raw, 'ln_after', isBool, 'a boolean', d.ln_after),
    init_weights: read(
      raw,
      'init_weights',
      (v) => INITS.includes(v as string),
      `one of ${INITS.join(', ')}`,
      d.init_weights,
    ),
    init_weights_seed: read(
      raw,
      'init_weights_seed',
      orNull(Number.isSafeInteger as Check),
      'an integer or null',
      d.init_weights_seed,
    ),
    is_parallel: read(raw, 'is_parallel', isBool, 'a boolean', d.is_parallel),
    scaling: scaling as ResolvedBottleneckConfig['scaling'],
    use_gating: read(raw, 'use_gating', isBool, 'a boolean', d.use_gating),
    residual_before_ln: residualBeforeLn as ResolvedBottleneckConfig['residual_before_ln'],
    adapter_residual_before_ln: read(
      raw,
      'adapter_residual_before_ln',
      isBool,
      'a boolean',
      d.adapter_residual_before_ln,
    ),
    inv_adapter: read(raw, 'inv_adapter', orNull(isStr), 'null', d.inv_adapter),
    inv_adapter_reduction_factor: read(
      raw,
      'inv_adapter_reduction_factor',
      orNull(isNum),
      'a number or null',
      d.inv_adapter_reduction_factor,
    ),
    cross_adapter: read(raw, 'cross_adapter', isBool, 'a boolean', d.cross_adapter),
    leave_out: [...leaveOut],
    dropout: read(
      raw,
      'dropout',
      (v) => isNum(v) && (v as number) >= 0 && (v as number) < 1,
      'a probability in [0, 1)',
      d.dropout,
    ),
    phm_layer: read(raw, 'phm_layer', isBool, 'a boolean', d.phm_layer),
    phm_dim: read(raw, 'phm_dim', Number.isInteger as Check, 'an integer', d.phm_dim),
    factorized_phm_W: read(raw, 'factorized_phm_W', orNull(isBool), 'a boolean', d.factorized_phm_W),
    shared_W_phm: read(raw, 'shared_W_phm', orNull(isBool), 'a boolean', d.shared_W_phm),
    shared_phm_rule: read(raw, 'shared_phm_rule', orNull(isBool), 'a boolean', d.shared_phm_rule),
    factorized_phm_rule: read(raw, 'factorized_phm_rule', orNull(isBool), 'a boolean', d.factorized_phm_rule),
    phm_c_init: read(raw, 'phm_c_init', orNull(isStr), 'a string', d.phm_c_init),
    phm_init_range: read(raw, 'phm_init_range', orNull(isNum), 'a number', d.phm_init_range),
    learn_phm: read(raw, 'learn_phm', orNull(isBool), 'a boolean', d.learn_phm),
    hypercomplex_nonlinearity: read(
      raw,
      'hypercomplex_nonlinearity',
      orNull(isStr),
      'a string',
      d.hypercomplex_nonlinearity,
    ),
    phm_rank: read(raw, 'phm_rank', orNull(Number.isInteger as Check), 'an integer', d.phm_rank),
    phm_bias: read(raw, 'phm_bias', orNull(isBool), 'a boolean', d.phm_bias),
    stochastic_depth: read(raw, 'stochastic_depth', orNull(isNum), 'a number', d.stochastic_depth),
  };
  if (config.phm_layer)
    throw new PeftConfigError('phm_layer', 'PHM (Compacter) layers are not supported; only plain bottleneck adapters');
  if (config.inv_adapter !== null)
    throw new PeftConfigError('inv_adapter', `invertible adapters ('${config.inv_adapter}') are not supported`);
  if ((config.stochastic_depth ?? 0) > 0)
    throw new PeftConfigError('stochastic_depth', 'stochastic depth (torchvision StochasticDepth) is not supported');
  if (!config.mh_adapter && !config.output_adapter)
    throw new PeftConfigError('mh_adapter', 'and output_adapter are both false: the adapter would sit nowhere');
  return config;
}

/** AdapterHub's "config" block for `config` (every `BnConfig` field, nothing of the registry's). */
export function bottleneckConfigBlock(config: ResolvedBottleneckConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(BN_DEFAULTS)) out[k] = (config as unknown as Record<string, unknown>)[k];
  out.mh_adapter = config.mh_adapter;
  out.output_adapter = config.output_adapter;
  out.reduction_factor = config.reduction_factor;
  out.non_linearity = config.non_linearity;
  return Object.fromEntries(
    Object.keys(out)
      .sort()
      .map((k) => [k, out[k]]),
  );
}

/** The registry's adapter_config.json object: the AdapterHub block plus `task_type` when set. */
export function bottleneckConfigToJSON(config: ResolvedBottleneckConfig): Record<string, unknown> {
  return { ...bottleneckConfigBlock(config), ...(config.task_type ? { task_type: config.task_type } : {}) };
}

/** `int(hidden // reduction_factor)` for layer `layer` (at least 1), as `BottleneckLayer.add_adapter` computes it. */
export function bottleneckSize(config: ResolvedBottleneckConfig, hidden: number, layer: number): number {
  let rf = config.reduction_factor;
  if (typeof rf !== 'number') {
    const v = rf[String(layer)] ?? rf.default;
    if (v === undefined)
      throw new PeftConfigError(
        'reduction_factor',
        `the map gives no value for layer ${layer} and no "default" (e.g. {"1": 8, "default": 16})`,
      );
    rf = v;
  }
  return Math.max(1, pythonFloorDiv(hidden, rf));
}

/** Python's `a // b` for positive floats (CPython's float_floor_div: exact where `Math.floor(a / b)` rounds up). */
function pythonFloorDiv(a: number, b: number): number {
  const mod = a % b;
  const div = (a - mod) / b;
  let floor = Math.floor(div);
  if (div - floor > 0.5) floor += 1;
  return floor;
}

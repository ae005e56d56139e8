import { ACTIVATION_NAMES } from '@peftjs/nn';

/** A config.json that this package cannot honour: a wrong type, a missing field, or an unsupported feature. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** A parsed config.json object (the raw JSON). */
export type RawConfig = Record<string, unknown>;

/** Fields every supported architecture shares. */
export interface BaseConfig {
  /** The config.json this was parsed from, kept so that `savePretrained` writes back every field. */
  readonly raw: RawConfig;
  vocab_size: number;
  initializer_range: number;
  tie_word_embeddings: boolean;
  pad_token_id: number | null;
  bos_token_id: number | null;
  eos_token_id: number | number[] | null;
}

/** RoPE frequency scaling (Hugging Face `rope_parameters` / legacy `rope_scaling`). */
export type RopeScaling =
  | { rope_type: 'default' }
  | { rope_type: 'linear'; factor: number }
  | {
      rope_type: 'llama3';
      factor: number;
      low_freq_factor: number;
      high_freq_factor: number;
      original_max_position_embeddings: number;
    };

/** The RoPE variants supported. */
export const SUPPORTED_ROPE_TYPES = ['default', 'linear', 'llama3'] as const;

/** `LlamaConfig` (model_type "llama"). */
export interface LlamaConfig extends BaseConfig {
  model_type: 'llama';
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  hidden_act: string;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  rope_scaling: RopeScaling;
  attention_bias: boolean;
  mlp_bias: boolean;
  attention_dropout: number;
}

/** `BertConfig` (model_type "bert"). */
export interface BertConfig extends BaseConfig {
  model_type: 'bert';
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  hidden_act: string;
  max_position_embeddings: number;
  type_vocab_size: number;
  layer_norm_eps: number;
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  classifier_dropout: number | null;
  num_labels: number;
  problem_type: 'regression' | 'single_label_classification' | 'multi_label_classification' | null;
}

/** `GPT2Config` (model_type "gpt2"). */
export interface GPT2Config extends BaseConfig {
  model_type: 'gpt2';
  n_embd: number;
  n_head: number;
  n_layer: number;
  n_positions: number;
  n_inner: number;
  activation_function: string;
  layer_norm_epsilon: number;
  resid_pdrop: number;
  embd_pdrop: number;
  attn_pdrop: number;
  scale_attn_weights: boolean;
  scale_attn_by_inverse_layer_idx: boolean;
}

/** Any supported config. */
export type ModelConfig = LlamaConfig | BertConfig | GPT2Config;

// ---------------------------------------------------------------------------------------------------------------
// Field readers with precise messages

class Reader {
  constructor(
    readonly raw: RawConfig,
    readonly where: string,
  ) {}

  private fail(key: string, want: string, v: unknown): never {
    throw new ConfigError(`${this.where}: '${key}' must be ${want}, got ${JSON.stringify(v)}`);
  }

  has(key: string): boolean {
    return this.raw[key] !== undefined && this.raw[key] !== null;
  }

  int(key: string, dflt?: number, min = 1): number {
    const v = this.raw[key] ?? dflt;
    if (v === undefined) throw new ConfigError(`${this.where}: required field '${key}' is missing`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) this.fail(key, `an integer >= ${min}`, v);
    return v;
  }

  num(key: string, dflt?: number, range: [number, number] = [0, Number.POSITIVE_INFINITY]): number {
    const v = this.raw[key] ?? dflt;
    if (v === undefined) throw new ConfigError(`${this.where}: required field '${key}' is missing`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < range[0] || v > range[1]) {
      this.fail(key, `a number in [${range[0]}, ${range[1]}]`, v);
    }
    return v;
  }

  prob(key: string, dflt: number): number {
    const v = this.num(key, dflt, [0, 1]);
    if (v >= 1) this.fail(key, 'a probability below 1', v);
    return v;
  }

  bool(key: string, dflt: boolean): boolean {
    const v = this.raw[key] ?? dflt;
    if (typeof v !== 'boolean') this.fail(key, 'a boolean', v);
    return v;
  }

  str(key: string, dflt?: string): string {
    const v = this.raw[key] ?? dflt;
    if (v === undefined) throw new ConfigError(`${this.where}: required field '${key}' is missing`);
    if (typeof v !== 'string') this.fail(key, 'a string', v);
    return v;
  }

  tokenId(key: string): number | null {
    const v = this.raw[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(key, 'an integer or null', v);
    return v;
  }

  tokenIds(key: string): number | number[] | null {
    const v = this.raw[key];
    if (Array.isArray(v)) {
      if (!v.every((x) => typeof x === 'number' && Number.isInteger(x))) this.fail(key, 'integers', v);
      return v as number[];
    }
    return this.tokenId(key);
  }

  activation(key: string, dflt: string): string {
    const v = this.str(key, dflt);
    if (!ACTIVATION_NAMES.includes(v)) {
      throw new ConfigError(
        `${this.where}: activation '${v}' in '${key}' is not supported (supported: ${ACTIVATION_NAMES.join(', ')})`,
      );
    }
    return v;
  }

  /** Refuse a field whose value changes the architecture in a way this package does not implement. */
  refuse(key: string, ok: (v: unknown) => boolean, why: string): void {
    const v = this.raw[key];
    if (v !== undefined && v !== null && !ok(v)) {
      throw new ConfigError(`${this.where}: ${key}=${JSON.stringify(v)} is not supported (${why})`);
    }
  }

  base(): BaseConfig {
    return {
      raw: this.raw,
      vocab_size: this.int('vocab_size'),
      initializer_range: this.num('initializer_range', 0.02),
      tie_word_embeddings: this.bool('tie_word_embeddings', true),
      pad_token_id: this.tokenId('pad_token_id'),
      bos_token_id: this.tokenId('bos_token_id'),
      eos_token_id: this.tokenIds('eos_token_id'),
    };
  }
}

function parseRope(r: Reader): { theta: number; scaling: RopeScaling } {
  // transformers >= 5 writes `rope_parameters` {rope_theta, rope_type, …}; older configs `rope_theta` + `rope_scaling`.
  const params = r.raw.rope_parameters ?? r.raw.rope_scaling;
  let theta = r.num('rope_theta', 10000);
  if (params === undefined || params === null) return { theta, scaling: { rope_type: 'default' } };
  if (typeof params !== 'object' || Array.isArray(params)) {
    throw new ConfigError(
      `${r.where}: 'rope_parameters' / 'rope_scaling' must be an object, got ${JSON.stringify(params)}`,
    );
  }
  const p = new Reader(params as RawConfig, `${r.where} rope_parameters`);
  if (p.has('rope_theta')) theta = p.num('rope_theta');
  const type = p.str('rope_type', typeof p.raw.type === 'string' ? (p.raw.type as string) : 'default');
  if (p.has('partial_rotary_factor') && p.num('partial_rotary_factor') !== 1) {
    throw new ConfigError(
      `${r.where}: partial_rotary_factor=${String(p.raw.partial_rotary_factor)} is not supported (only 1)`,
    );
  }
  switch (type) {
    case 'default':
      return { theta, scaling: { rope_type: 'default' } };
    case 'linear':
      return { theta, scaling: { rope_type: 'linear', factor: p.num('factor') } };
    case 'llama3':
      return {
        theta,
        scaling: {
          rope_type: 'llama3',
          factor: p.num('factor'),
          low_freq_factor: p.num('low_freq_factor'),
          high_freq_factor: p.num('high_freq_factor'),
          original_max_position_embeddings: p.int('original_max_position_embeddings'),
        },
      };
    default:
      throw new ConfigError(
        `${r.where}: rope_type '${type}' is not supported (supported: ${SUPPORTED_ROPE_TYPES.join(', ')})`,
      );
  }
}

/** Parse and validate a LLaMA config.json object. */
export function parseLlamaConfig(raw: RawConfig, where = 'config.json'): LlamaConfig {
  const r = new Reader(raw, where);
  const hidden = r.int('hidden_size');
  const heads = r.int('num_attention_heads');
  const kvHeads = r.int('num_key_value_heads', heads);
  if (heads % kvHeads !== 0) {
    throw new ConfigError(
      `${where}: num_attention_heads (${heads}) must be a multiple of num_key_value_heads (${kvHeads})`,
    );
  }
  const headDim = r.int('head_dim', hidden / heads);
  if (!r.has('head_dim') && hidden % heads !== 0) {
    throw new ConfigError(`${where}: hidden_size (${hidden}) is not divisible by num_attention_heads (${heads})`);
  }
  if (headDim % 2 !== 0) throw new ConfigError(`${where}: head_dim ${headDim} must be even for RoPE`);
  const rope = parseRope(r);
  return {
    ...r.base(),
    tie_word_embeddings: r.bool('tie_word_embeddings', false),
    model_type: 'llama',
    hidden_size: hidden,
    intermediate_size: r.int('intermediate_size'),
    num_hidden_layers: r.int('num_hidden_layers'),
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    hidden_act: r.activation('hidden_act', 'silu'),
    max_position_embeddings: r.int('max_position_embeddings', 2048),
    rms_norm_eps: r.num('rms_norm_eps', 1e-6),
    rope_theta: rope.theta,
    rope_scaling: rope.scaling,
    attention_bias: r.bool('attention_bias', false),
    mlp_bias: r.bool('mlp_bias', false),
    attention_dropout: r.prob('attention_dropout', 0),
  };
}

/** Parse and validate a BERT config.json object. */
export function parseBertConfig(raw: RawConfig, where = 'config.json'): BertConfig {
  const r = new Reader(raw, where);
  r.refuse('position_embedding_type', (v) => v === 'absolute', "only 'absolute' position embeddings are implemented");
  r.refuse('is_decoder', (v) => v === false, 'BERT as a decoder is not implemented');
  r.refuse('add_cross_attention', (v) => v === false, 'cross-attention is not implemented');
  const hidden = r.int('hidden_size', 768);
  const heads = r.int('num_attention_heads', 12);
  if (hidden % heads !== 0) {
    throw new ConfigError(`${where}: hidden_size (${hidden}) is not divisible by num_attention_heads (${heads})`);
  }
  let numLabels = 2;
  if (r.has('num_labels')) numLabels = r.int('num_labels');
  else if (raw.id2label && typeof raw.id2label === 'object') numLabels = Object.keys(raw.id2label).length;
  const pt = raw.problem_type ?? null;
  if (
    pt !== null &&
    pt !== 'regression' &&
    pt !== 'single_label_classification' &&
    pt !== 'multi_label_classification'
  ) {
    throw new ConfigError(`${where}: problem_type ${JSON.stringify(pt)} is not supported`);
  }
  const cd = raw.classifier_dropout;
  return {
    ...r.base(),
    model_type: 'bert',
    hidden_size: hidden,
    intermediate_size: r.int('intermediate_size', 3072),
    num_hidden_layers: r.int('num_hidden_layers', 12),
    num_attention_heads: heads,
    hidden_act: r.activation('hidden_act', 'gelu'),
    max_position_embeddings: r.int('max_position_embeddings', 512),
    type_vocab_size: r.int('type_vocab_size', 2),
    layer_norm_eps: r.num('layer_norm_eps', 1e-12),
    hidden_dropout_prob: r.prob('hidden_dropout_prob', 0.1),
    attention_probs_dropout_prob: r.prob('attention_probs_dropout_prob', 0.1),
    classifier_dropout: cd === undefined || cd === null ? null : r.prob('classifier_dropout', 0),
    num_labels: numLabels,
    problem_type: pt,
  };
}

/** Parse and validate a GPT-2 config.json object. */
export function parseGPT2Config(raw: RawConfig, where = 'config.json'): GPT2Config {
  const r = new Reader(raw, where);
  r.refuse('add_cross_attention', (v) => v === false, 'cross-attention is not implemented');
  const embd = r.int('n_embd', 768);
  const heads = r.int('n_head', 12);
  if (embd % heads !== 0) throw new ConfigError(`${where}: n_embd (${embd}) is not divisible by n_head (${heads})`);
  return {
    ...r.base(),
    model_type: 'gpt2',
    n_embd: embd,
    n_head: heads,
    n_layer: r.int('n_layer', 12),
    n_positions: r.int('n_positions', 1024),
    n_inner: r.has('n_inner') ? r.int('n_inner') : 4 * embd,
    activation_function: r.activation('activation_function', 'gelu_new'),
    layer_norm_epsilon: r.num('layer_norm_epsilon', 1e-5),
    resid_pdrop: r.prob('resid_pdrop', 0.1),
    embd_pdrop: r.prob('embd_pdrop', 0.1),
    attn_pdrop: r.prob('attn_pdrop', 0.1),
    scale_attn_weights: r.bool('scale_attn_weights', true),
    scale_attn_by_inverse_layer_idx: r.bool('scale_attn_by_inverse_layer_idx', false),
  };
}

/** The architectures (config.json `architectures[0]`) this package implements, with their model_type. */
export const ARCHITECTURES = {
  LlamaForCausalLM: 'llama',
  BertForSequenceClassification: 'bert',
  GPT2LMHeadModel: 'gpt2',
} as const;

/** One of {@link ARCHITECTURES}. */
export type ArchitectureName = keyof typeof ARCHITECTURES;

/**
 * The architecture to build for a config.json: `override` if given (it must fit the config's model_type), else the
 * config's first `architectures` entry. Throws a {@link ConfigError} naming the supported ones otherwise.
 */
export function resolveArchitecture(raw: RawConfig, override?: string): ArchitectureName {
  const supported = Object.keys(ARCHITECTURES).join(', ');
  const modelType = raw.model_type;
  const listed = Array.isArray(raw.architectures) ? (raw.architectures as unknown[]) : [];
  const name = override ?? (typeof listed[0] === 'string' ? listed[0] : undefined);
  if (name === undefined) {
    throw new ConfigError(
      `config.json names no architecture (model_type ${JSON.stringify(modelType)}); pass { architecture } (supported: ${supported})`,
    );
  }
  if (!(name in ARCHITECTURES)) {
    throw new ConfigError(`architecture '${name}' is not supported (supported: ${supported})`);
  }
  const arch = name as ArchitectureName;
  if (modelType !== undefined && modelType !== ARCHITECTURES[arch]) {
    throw new ConfigError(
      `architecture '${arch}' needs model_type '${ARCHITECTURES[arch]}', config.json has ${JSON.stringify(modelType)}`,
    );
  }
  return arch;
}

/**
 * A config as config.json: the fields it was parsed from, overlaid with every parsed field (Hugging Face names),
 * so a config built in code saves completely. RoPE settings keep the form they were read in (`rope_parameters`
 * or `rope_theta` + `rope_scaling`); a config without either gets the legacy form, which every version reads.
 */
export function configToJson(config: ModelConfig, architecture?: string): RawConfig {
  const { raw, ...parsed } = config;
  const out: RawConfig = { ...raw, ...parsed };
  if (config.model_type === 'llama') {
    delete out.rope_scaling;
    delete out.rope_theta;
    if (raw.rope_parameters === undefined && raw.rope_theta === undefined && raw.rope_scaling === undefined) {
      out.rope_theta = config.rope_theta;
      out.rope_scaling = config.rope_scaling.rope_type === 'default' ? null : config.rope_scaling;
    } else {
      for (const k of ['rope_parameters', 'rope_theta', 'rope_scaling']) if (raw[k] !== undefined) out[k] = raw[k];
    }
  }
  if (architecture) out.architectures = [architecture];
  return out;
}

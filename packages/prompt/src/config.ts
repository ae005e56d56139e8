import {
  field,
  isBool,
  isNumber,
  isPositiveInt,
  isString,
  isStringList,
  type ModelInfo,
  type PeftConfigBase,
  PeftConfigError,
  type TaskType,
} from '@peftjs/registry';

/** What `prompt_tuning_init: "TEXT"` needs: token ids for a text, as a Hugging Face tokenizer's `input_ids`. */
export interface PromptTokenizer {
  encode(text: string): number[];
}

/**
 * The config key (a symbol, so it is never written to adapter_config.json) under which a tokenizer travels with a
 * config; see {@link withTokenizer}.
 */
export const PROMPT_TOKENIZER: unique symbol = Symbol.for('@peftjs/prompt/tokenizer');

/**
 * A copy of `config` carrying `tokenizer`, for `prompt_tuning_init: "TEXT"` (PEFT loads
 * `tokenizer_name_or_path`; here the caller passes the tokenizer itself, e.g. `HFTokenizer` from `@peftjs/models`).
 */
export function withTokenizer<C extends object>(config: C, tokenizer: PromptTokenizer): C {
  if (typeof tokenizer?.encode !== 'function') {
    throw new PeftConfigError('tokenizer', 'must have encode(text): number[]');
  }
  return Object.assign({ ...config }, { [PROMPT_TOKENIZER]: tokenizer });
}

/** PEFT's `PromptLearningConfig` fields (names as in adapter_config.json). */
export interface PromptLearningConfig extends PeftConfigBase {
  /** Number of virtual tokens (required). */
  num_virtual_tokens?: number;
  /** Hidden size of the base model; filled from its config. */
  token_dim?: number | null;
  /** 1 for decoder-only and encoder models (2 for encoder-decoder ones, which peftjs does not have). */
  num_transformer_submodules?: number | null;
  /** Attention heads (key/value heads for prefix tuning on a grouped-query model); filled from the model. */
  num_attention_heads?: number | null;
  /** Transformer layers; filled from the model. */
  num_layers?: number | null;
  /** Modules trained in full and saved with the adapter (the classifier for SEQ_CLS). */
  modules_to_save?: string[] | null;
}

/** PEFT's `PromptTuningConfig` (peft_type "PROMPT_TUNING"). */
export interface PromptTuningConfig extends PromptLearningConfig {
  peft_type: 'PROMPT_TUNING';
  /** "RANDOM" (N(0, 1), default), "SAMPLE_VOCAB" (embeddings of random vocabulary ids) or "TEXT". */
  prompt_tuning_init?: 'RANDOM' | 'SAMPLE_VOCAB' | 'TEXT';
  /** The text whose token embeddings initialise the prompt ("TEXT"); needs a tokenizer ({@link withTokenizer}). */
  prompt_tuning_init_text?: string | null;
  tokenizer_name_or_path?: string | null;
  tokenizer_kwargs?: Record<string, unknown> | null;
}

/** PEFT's `PromptEncoderConfig` (peft_type "P_TUNING"). */
export interface PromptEncoderConfig extends PromptLearningConfig {
  peft_type: 'P_TUNING';
  /** "MLP" (default) or "LSTM". */
  encoder_reparameterization_type?: 'MLP' | 'LSTM';
  /** Hidden size of the reparameterisation; default token_dim. */
  encoder_hidden_size?: number | null;
  /** LSTM layers (ignored by the MLP); default 2. */
  encoder_num_layers?: number;
  /** Dropout between LSTM layers; default 0. */
  encoder_dropout?: number;
}

/** PEFT's `PrefixTuningConfig` (peft_type "PREFIX_TUNING"). */
export interface PrefixTuningConfig extends PromptLearningConfig {
  peft_type: 'PREFIX_TUNING';
  /** Hidden size of the projection; default token_dim. */
  encoder_hidden_size?: number | null;
  /** Reparameterise through Linear → Tanh → Linear (training only; the saved prefix is the projection's output). */
  prefix_projection?: boolean;
  /** null (random) or "zero" (zero the last projection layer, or the embedding). */
  init_weights?: 'zero' | null;
}

export type AnyPromptConfig = PromptTuningConfig | PromptEncoderConfig | PrefixTuningConfig;

/** A normalized prompt-learning config: every shared field filled once `prepareConfig` ran. */
export type Resolved<C extends PromptLearningConfig> = C & {
  num_virtual_tokens: number;
  token_dim: number;
  num_transformer_submodules: number;
  num_attention_heads: number;
  num_layers: number;
  inference_mode: boolean;
  [PROMPT_TOKENIZER]?: PromptTokenizer;
};

const TASK_TYPES = ['CAUSAL_LM', 'SEQ_CLS', 'SEQ_2_SEQ_LM', 'TOKEN_CLS', 'QUESTION_ANS', 'FEATURE_EXTRACTION'];
const optInt = (raw: Record<string, unknown>, name: string) =>
  field<number | null>(raw, name, null, isPositiveInt, 'a positive integer');

/** The fields every prompt-learning config shares, type-checked. */
function normalizeShared(raw: Record<string, unknown>) {
  const nvt = raw.num_virtual_tokens;
  if (nvt === undefined || nvt === null) throw new PeftConfigError('num_virtual_tokens', 'is required');
  if (!isPositiveInt(nvt))
    throw new PeftConfigError('num_virtual_tokens', `expected a positive integer, got ${JSON.stringify(nvt)}`);
  const taskType = field<TaskType | null>(
    raw,
    'task_type',
    null,
    (v) => TASK_TYPES.includes(v as string),
    `one of ${TASK_TYPES.join(', ')}`,
  );
  if (taskType === 'SEQ_2_SEQ_LM')
    throw new PeftConfigError('task_type', 'SEQ_2_SEQ_LM: peftjs has no encoder-decoder models');
  let modulesToSave = field<string[] | null>(raw, 'modules_to_save', null, isStringList, 'a list of module names');
  // PeftModelForSequenceClassification trains and saves the classification head with every adapter.
  if (taskType === 'SEQ_CLS') {
    const heads = ['classifier', 'score'];
    modulesToSave = [...(modulesToSave ?? []), ...heads.filter((h) => !modulesToSave?.includes(h))];
  }
  const tokenizer = (raw as { [PROMPT_TOKENIZER]?: PromptTokenizer })[PROMPT_TOKENIZER];
  return {
    task_type: taskType,
    base_model_name_or_path: field<string | null>(raw, 'base_model_name_or_path', null, isString, 'a string'),
    revision: field<string | null>(raw, 'revision', null, isString, 'a string'),
    inference_mode: field(raw, 'inference_mode', false, isBool, 'a boolean'),
    num_virtual_tokens: nvt as number,
    token_dim: optInt(raw, 'token_dim'),
    num_transformer_submodules: optInt(raw, 'num_transformer_submodules'),
    num_attention_heads: optInt(raw, 'num_attention_heads'),
    num_layers: optInt(raw, 'num_layers'),
    modules_to_save: modulesToSave,
    ...(tokenizer ? { [PROMPT_TOKENIZER]: tokenizer } : {}),
  };
}

export function normalizePromptTuningConfig(raw: Record<string, unknown>): Resolved<PromptTuningConfig> {
  const inits = ['RANDOM', 'SAMPLE_VOCAB', 'TEXT'];
  const init = field<string>(raw, 'prompt_tuning_init', 'RANDOM', (v) => inits.includes(v as string), inits.join(', '));
  const text = field<string | null>(raw, 'prompt_tuning_init_text', null, isString, 'a string');
  if (init === 'TEXT' && !text) {
    throw new PeftConfigError('prompt_tuning_init_text', 'is required when prompt_tuning_init is "TEXT"');
  }
  const kwargs = raw.tokenizer_kwargs ?? null;
  if (kwargs !== null && (typeof kwargs !== 'object' || Array.isArray(kwargs)))
    throw new PeftConfigError('tokenizer_kwargs', 'expected an object');
  return {
    ...normalizeShared(raw),
    peft_type: 'PROMPT_TUNING',
    prompt_tuning_init: init as PromptTuningConfig['prompt_tuning_init'],
    prompt_tuning_init_text: text,
    tokenizer_name_or_path: field<string | null>(raw, 'tokenizer_name_or_path', null, isString, 'a string'),
    tokenizer_kwargs: kwargs as Record<string, unknown> | null,
  } as Resolved<PromptTuningConfig>;
}

export function normalizePromptEncoderConfig(raw: Record<string, unknown>): Resolved<PromptEncoderConfig> {
  const types = ['MLP', 'LSTM'];
  const dropout = field(raw, 'encoder_dropout', 0, isNumber, 'a number in [0, 1)');
  if (dropout < 0 || dropout >= 1) throw new PeftConfigError('encoder_dropout', `must be in [0, 1), got ${dropout}`);
  return {
    ...normalizeShared(raw),
    peft_type: 'P_TUNING',
    encoder_reparameterization_type: field(
      raw,
      'encoder_reparameterization_type',
      'MLP',
      (v) => types.includes(v as string),
      'MLP or LSTM',
    ) as 'MLP' | 'LSTM',
    encoder_hidden_size: optInt(raw, 'encoder_hidden_size'),
    encoder_num_layers: field(raw, 'encoder_num_layers', 2, isPositiveInt, 'a positive integer'),
    encoder_dropout: dropout,
  } as Resolved<PromptEncoderConfig>;
}

export function normalizePrefixTuningConfig(raw: Record<string, unknown>): Resolved<PrefixTuningConfig> {
  const initWeights = field<string | null>(raw, 'init_weights', null, (v) => v === 'zero', '"zero" or null');
  return {
    ...normalizeShared(raw),
    peft_type: 'PREFIX_TUNING',
    encoder_hidden_size: optInt(raw, 'encoder_hidden_size'),
    prefix_projection: field(raw, 'prefix_projection', false, isBool, 'a boolean'),
    init_weights: initWeights as 'zero' | null,
  } as Resolved<PrefixTuningConfig>;
}

function firstInt(config: Readonly<Record<string, unknown>>, names: readonly string[]): number | undefined {
  for (const n of names) {
    const v = config[n];
    if (Number.isInteger(v) && (v as number) > 0) return v as number;
  }
  return undefined;
}

/**
 * PEFT's `_prepare_prompt_learning_config`: fill num_layers, token_dim, num_attention_heads and
 * encoder_hidden_size from the model config, and num_transformer_submodules (1: peftjs has no encoder-decoder
 * models). Prefix tuning on a grouped-query model stores key/value heads: token_dim = head_dim · kv_heads.
 */
export function preparePromptConfig<C extends PromptLearningConfig>(config: C, model: ModelInfo): Resolved<C> {
  const mc = model.config;
  const out = { ...config } as unknown as Record<string, unknown>;
  const need = (name: string, value: number | undefined, from: string) => {
    if (out[name] !== null && out[name] !== undefined) return;
    if (value === undefined) {
      throw new PeftConfigError(name, `is not set and the model config has none of ${from} to fill it from`);
    }
    out[name] = value;
  };
  need(
    'num_layers',
    firstInt(mc, ['num_hidden_layers', 'num_layers', 'n_layer']),
    'num_hidden_layers, num_layers, n_layer',
  );
  need('token_dim', firstInt(mc, ['hidden_size', 'n_embd', 'd_model']), 'hidden_size, n_embd, d_model');
  need(
    'num_attention_heads',
    firstInt(mc, ['num_attention_heads', 'n_head', 'num_heads', 'encoder_attention_heads']),
    'num_attention_heads, n_head, num_heads',
  );
  const kvHeads = firstInt(mc, ['num_key_value_heads']);
  if (config.peft_type === 'PREFIX_TUNING' && kvHeads !== undefined) {
    const headDim =
      firstInt(mc, ['head_dim']) ?? Math.floor((out.token_dim as number) / (out.num_attention_heads as number));
    out.token_dim = headDim * kvHeads;
    out.num_attention_heads = kvHeads;
  }
  if ('encoder_hidden_size' in out && (out.encoder_hidden_size === null || out.encoder_hidden_size === undefined)) {
    out.encoder_hidden_size = out.token_dim as number;
  }
  out.num_transformer_submodules ??= 1;
  if (out.num_transformer_submodules !== 1) {
    throw new PeftConfigError('num_transformer_submodules', 'must be 1 (peftjs has no encoder-decoder models)');
  }
  if ((out.token_dim as number) % (out.num_attention_heads as number) !== 0) {
    throw new PeftConfigError(
      'token_dim',
      `${out.token_dim} is not divisible by num_attention_heads = ${out.num_attention_heads}`,
    );
  }
  return out as unknown as Resolved<C>;
}

/** Fields of adapter_config.json every prompt-learning method writes. */
function sharedJSON(c: Resolved<PromptLearningConfig>): Record<string, unknown> {
  return {
    auto_mapping: null,
    base_model_name_or_path: c.base_model_name_or_path ?? null,
    revision: c.revision ?? null,
    task_type: c.task_type ?? null,
    inference_mode: true,
    num_virtual_tokens: c.num_virtual_tokens,
    token_dim: c.token_dim ?? null,
    num_transformer_submodules: c.num_transformer_submodules ?? null,
    num_attention_heads: c.num_attention_heads ?? null,
    num_layers: c.num_layers ?? null,
    modules_to_save: c.modules_to_save ?? null,
  };
}

export function promptTuningConfigToJSON(c: Resolved<PromptTuningConfig>): Record<string, unknown> {
  return {
    ...sharedJSON(c),
    peft_type: 'PROMPT_TUNING',
    prompt_tuning_init: c.prompt_tuning_init,
    prompt_tuning_init_text: c.prompt_tuning_init_text ?? null,
    tokenizer_name_or_path: c.tokenizer_name_or_path ?? null,
    tokenizer_kwargs: c.tokenizer_kwargs ?? null,
  };
}

export function promptEncoderConfigToJSON(c: Resolved<PromptEncoderConfig>): Record<string, unknown> {
  return {
    ...sharedJSON(c),
    peft_type: 'P_TUNING',
    encoder_reparameterization_type: c.encoder_reparameterization_type,
    encoder_hidden_size: c.encoder_hidden_size ?? null,
    encoder_num_layers: c.encoder_num_layers,
    encoder_dropout: c.encoder_dropout,
  };
}

export function prefixTuningConfigToJSON(c: Resolved<PrefixTuningConfig>): Record<string, unknown> {
  return {
    ...sharedJSON(c),
    peft_type: 'PREFIX_TUNING',
    encoder_hidden_size: c.encoder_hidden_size ?? null,
    prefix_projection: c.prefix_projection,
    init_weights: c.init_weights ?? null,
  };
}

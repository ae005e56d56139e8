import { Embedding, type Module } from '@peftjs/nn';
import {
  type AdapterMethod,
  type ForwardContext,
  type MethodPreset,
  type ModelInputs,
  type ModelOutput,
  PeftError,
  type PresetOptions,
  registerAdapter,
  registerPreset,
  type StateContext,
} from '@peftjs/registry';
import { cast, concat, expand, full, noGrad, permute, reshape, slice, type Tensor, tidy } from '@peftjs/tensor';
import {
  normalizePrefixTuningConfig,
  normalizePromptEncoderConfig,
  normalizePromptTuningConfig,
  PROMPT_TOKENIZER,
  type PrefixTuningConfig,
  type PromptEncoderConfig,
  type PromptLearningConfig,
  type PromptTuningConfig,
  prefixTuningConfigToJSON,
  preparePromptConfig,
  promptEncoderConfigToJSON,
  promptTuningConfigToJSON,
  type Resolved,
} from './config.js';
import { createEncoder, type PromptModule } from './encoders.js';

declare module '@peftjs/registry' {
  interface AdapterConfigMap {
    prompt_tuning: PromptTuningConfig;
    p_tuning: PromptEncoderConfig;
    prefix_tuning: PrefixTuningConfig;
  }
}

type AnyResolved = Resolved<PromptLearningConfig>;

/** The saved key PEFT uses for a prompt adapter's virtual-token values. */
export const PROMPT_EMBEDDINGS_KEY = 'prompt_embeddings';
const ENCODER_EMBEDDING_KEY = 'prompt_encoder.embedding.weight';

/** Each adapter's encoder by its (prepared) config object: the save transform needs the encoder's output. */
const encoderOf = new WeakMap<object, PromptModule>();

/** The model's word embeddings: `getInputEmbeddings()`, else (as PEFT) the first Embedding over the vocabulary. */
export function wordEmbeddings(model: Module): Embedding {
  const own = (model as { getInputEmbeddings?: () => unknown }).getInputEmbeddings?.();
  if (own instanceof Embedding) return own;
  const vocab = (model as { config?: { vocab_size?: number } }).config?.vocab_size;
  for (const [, m] of model.namedModules()) {
    if (m instanceof Embedding && (vocab === undefined || m.numEmbeddings === vocab)) return m;
  }
  throw new PeftError('prompt learning: the model has no word embeddings (getInputEmbeddings() or an Embedding)');
}

/** Whether the adapter's encoder reparameterises its embedding (its saved values are then the encoder's output). */
function reparameterized(c: AnyResolved): boolean {
  if (c.inference_mode) return false;
  if (c.peft_type === 'P_TUNING') return true;
  return c.peft_type === 'PREFIX_TUNING' && (c as Resolved<PrefixTuningConfig>).prefix_projection === true;
}

/** `ones(B, n)` before `mask` (PEFT's prefix attention mask), in the mask's dtype (bool masks become i32). */
function prependOnes(mask: Tensor, n: number): Tensor {
  const m = mask.dtype === 'bool' ? cast(mask, 'i32') : mask;
  return concat([full([m.shape[0], n], 1, { dtype: m.dtype, backend: m.backend }), m], 1);
}

/**
 * PEFT's `get_prompt` for prefix tuning: P [nvt, L·2·D] → per layer l, key = P[2l], value = P[2l+1], each
 * [batch, heads, nvt, D / heads] (the row holds `[L0.key, L0.value, L1.key, …]`, heads-major).
 */
export function prefixKeyValues(
  prompts: Tensor,
  batch: number,
  c: Resolved<PromptLearningConfig>,
): { key: Tensor; value: Tensor }[] {
  const nvt = c.num_virtual_tokens;
  const heads = c.num_attention_heads;
  const hd = c.token_dim / heads;
  const layers = c.num_layers;
  const p = permute(reshape(prompts, [nvt, layers * 2, heads, hd]), [1, 2, 0, 3]); // [L·2, heads, nvt, hd]
  const part = (i: number) =>
    expand(reshape(slice(p, [i, 0, 0, 0], [1, heads, nvt, hd]), [1, heads, nvt, hd]), [batch, heads, nvt, hd]);
  return Array.from({ length: layers }, (_, l) => ({ key: part(2 * l), value: part(2 * l + 1) }));
}

/**
 * The model-level forward of the three methods (PEFT's `PeftModelForCausalLM.forward` /
 * `PeftModelForSequenceClassification.forward` for prompt learning). The attention mask always gains `nvt` ones in
 * front. When `pastKeyValues` are given, they already hold the virtual tokens (a decoding step after the first):
 * nothing else changes. Otherwise prompt tuning and P-tuning prepend the prompts to the token embeddings (labels
 * gain -100s for causal LMs, token types zeros for classifiers), and prefix tuning passes the prefix as
 * `pastKeyValues`. Tensors made here belong to the caller's scope.
 */
function promptForward(
  inputs: ModelInputs,
  next: (inputs: ModelInputs) => ModelOutput,
  ctx: ForwardContext<AnyResolved>,
): ModelOutput {
  const c = ctx.config;
  const encoder = ctx.promptEncoder as PromptModule | null;
  if (!encoder) throw new PeftError(`adapter '${ctx.adapterName}' has no prompt encoder`);
  const nvt = c.num_virtual_tokens;
  const ids = inputs.inputIds ?? null;
  const embeds = inputs.inputsEmbeds ?? null;
  const batch = (ids ?? embeds)?.shape[0];
  if (batch === undefined) throw new PeftError('forward: pass inputIds or inputsEmbeds');
  const attentionMask = inputs.attentionMask ? prependOnes(inputs.attentionMask, nvt) : null;
  const past = inputs.pastKeyValues as readonly unknown[] | null | undefined;
  if (past && past.length > 0) return next({ ...inputs, attentionMask });

  if (c.peft_type === 'PREFIX_TUNING') {
    return next({ ...inputs, attentionMask, pastKeyValues: prefixKeyValues(encoder.prompts(), batch, c) });
  }
  const tokens = embeds ?? wordEmbeddings(ctx.model).forward(ids!);
  const prompts = encoder.prompts();
  const [rows, dim] = prompts.shape;
  const inputsEmbeds = concat([expand(reshape(prompts, [1, rows, dim]), [batch, rows, dim]), tokens], 1);
  const out: ModelInputs = { ...inputs, inputIds: null, inputsEmbeds, attentionMask };
  const labels = inputs.labels ?? null;
  const tokenTypeIds = (inputs.tokenTypeIds as Tensor | null | undefined) ?? null;
  if (c.task_type === 'SEQ_CLS') {
    if (tokenTypeIds) {
      const zeros = full([batch, nvt], 0, { dtype: 'i32', backend: tokenTypeIds.backend });
      out.tokenTypeIds = concat([zeros, tokenTypeIds], 1);
    }
  } else {
    // PEFT drops token_type_ids (and position_ids) for causal LMs; the virtual positions have no targets.
    out.tokenTypeIds = null;
    if (labels) {
      const ignore = full([batch, nvt], -100, { dtype: 'i32', backend: labels.backend });
      out.labels = concat([ignore, labels], 1);
    }
  }
  return next(out);
}

/** PEFT's save: the encoder's output as `prompt_embeddings` (the MLP, LSTM and projection weights are not saved). */
function saveState(state: Readonly<Record<string, Tensor>>, ctx: StateContext<AnyResolved>): Record<string, Tensor> {
  const encoder = encoderOf.get(ctx.config);
  if (!encoder) throw new PeftError(`adapter '${ctx.adapterName}': its prompt encoder is unknown`);
  const out: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(state)) if (!k.startsWith('prompt_encoder.')) out[k] = t;
  out[PROMPT_EMBEDDINGS_KEY] = tidy(() => noGrad(() => encoder.prompts()));
  return out;
}

/** The inverse: `prompt_embeddings` into the (embedding-only) encoder of an adapter loaded for inference. */
function loadState(state: Readonly<Record<string, Tensor>>, ctx: StateContext<AnyResolved>): Record<string, Tensor> {
  if (!(PROMPT_EMBEDDINGS_KEY in state)) return { ...state };
  if (reparameterized(ctx.config)) {
    throw new PeftError(
      `${ctx.config.peft_type}: the saved prompt_embeddings are the encoder's output, which cannot be loaded into a training-form encoder (${ctx.config.peft_type === 'P_TUNING' ? 'MLP/LSTM' : 'prefix_projection'}); load the adapter with the config it was saved with (inference_mode: true)`,
    );
  }
  const out: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(state)) out[k === PROMPT_EMBEDDINGS_KEY ? ENCODER_EMBEDDING_KEY : k] = t;
  return out;
}

function promptMethod<C extends AnyResolved>(
  name: string,
  peftType: C['peft_type'],
  normalize: (raw: Record<string, unknown>) => C,
  toJSON: (c: C) => Record<string, unknown>,
): AdapterMethod<C> {
  return {
    name,
    peftType,
    kind: 'prompt',
    supportedModules: [],
    normalizeConfig: normalize,
    toJSON,
    canAdapt: () => false,
    createLayer: () => {
      throw new PeftError(`${peftType} adapts the model's inputs, not its layers`);
    },
    prepareConfig: (config, model) => preparePromptConfig(config, model) as C,
    createPromptEncoder(config, ctx) {
      const model = ctx.module;
      const tokenizer = config[PROMPT_TOKENIZER];
      const encoder = createEncoder(
        config,
        { wordEmbeddings: () => wordEmbeddings(model), backend: model.parameters()[0]?.backend },
        () => {
          const text = (config as Resolved<PromptTuningConfig>).prompt_tuning_init_text ?? '';
          if (!tokenizer) {
            throw new PeftError(
              'prompt_tuning_init "TEXT" needs a tokenizer: pass the config through withTokenizer(config, tokenizer) from @peftjs/prompt',
            );
          }
          return tokenizer.encode(text);
        },
      );
      encoderOf.set(config, encoder);
      return encoder;
    },
    forward: (inputs, next, ctx) => promptForward(inputs, next, ctx),
    transformStateForSave: saveState,
    transformStateForLoad: loadState,
  };
}

/** Prompt tuning (peft_type "PROMPT_TUNING"). */
export const promptTuningMethod = promptMethod(
  'prompt_tuning',
  'PROMPT_TUNING',
  normalizePromptTuningConfig,
  promptTuningConfigToJSON,
);
/** P-tuning (peft_type "P_TUNING"; PEFT's PromptEncoder). */
export const pTuningMethod = promptMethod(
  'p_tuning',
  'P_TUNING',
  normalizePromptEncoderConfig,
  promptEncoderConfigToJSON,
);
/** Prefix tuning (peft_type "PREFIX_TUNING"). */
export const prefixTuningMethod = promptMethod(
  'prefix_tuning',
  'PREFIX_TUNING',
  normalizePrefixTuningConfig,
  prefixTuningConfigToJSON,
);

const shared = (o: PresetOptions, peftType: string, extra: Record<string, unknown>) => ({
  peft_type: peftType,
  ...(o.taskType ? { task_type: o.taskType } : {}),
  ...(o.modulesToSave ? { modules_to_save: o.modulesToSave } : {}),
  ...extra,
});

/** The presets `peftjs train --method NAME`, comparisons and `recommend()` use. */
export const promptPresets: MethodPreset[] = [
  {
    name: 'prompt-tuning',
    method: 'prompt_tuning',
    summary: 'prompt tuning: 20 trainable virtual-token embeddings before the input',
    config: (o) => shared(o, 'PROMPT_TUNING', { num_virtual_tokens: 20, prompt_tuning_init: 'RANDOM' }),
    // measured on the tiny LLaMA's default 90-step job (packages/cli/README.md): 3e-1 to 3 within 0.01 perplexity
    learningRate: () => 3e-1,
  },
  {
    name: 'p-tuning',
    method: 'p_tuning',
    summary: 'P-tuning: 20 virtual tokens produced by a trainable MLP encoder',
    config: (o) =>
      shared(o, 'P_TUNING', {
        num_virtual_tokens: 20,
        encoder_reparameterization_type: 'MLP',
        encoder_hidden_size: 128,
      }),
    // measured on the tiny LLaMA's default 90-step job (packages/cli/README.md): 1e-2 to 1e-1 within 0.004 perplexity
    learningRate: () => 1e-2,
  },
  {
    name: 'prefix-tuning',
    method: 'prefix_tuning',
    summary: "prefix tuning: 20 trainable keys/values before every layer's attention",
    config: (o) => shared(o, 'PREFIX_TUNING', { num_virtual_tokens: 20, prefix_projection: false }),
    // measured on the tiny LLaMA's default 90-step job (packages/cli/README.md): 2e-1 beat 5e-2, 1e-1 and 5e-1
    learningRate: () => 2e-1,
  },
];

let registered = false;
/** Register the three methods and their presets (idempotent; done on import). */
export function registerPromptMethods(): void {
  if (registered) return;
  registered = true;
  registerAdapter(promptTuningMethod);
  registerAdapter(pTuningMethod);
  registerAdapter(prefixTuningMethod);
  for (const p of promptPresets) registerPreset(p);
}

import { activation, Conv1D, Dropout, Embedding, LayerNorm, Linear, Module, ModuleList } from '@peftjs/nn';
import { add, arange, chunk, composite, concat, type Tensor, unsqueeze } from '@peftjs/tensor';
import { type AttentionContext, attend, cacheKeyValue, mergeHeads, splitHeads } from './attention.js';
import {
  type CausalLMInputs,
  causalLMLoss,
  inputShape,
  type KeyValue,
  keyPaddingMask,
  type ModelOutput,
} from './common.js';
import { type GPT2Config, parseGPT2Config, type RawConfig } from './config.js';
import { type ModelOptions, PreTrainedModel } from './pretrained.js';
import { ResidualAdd } from './residual.js';

/**
 * `GPT2Attention`: one Conv1D `c_attn` producing q, k, v; scores scaled by 1/√head_dim (and 1/(layer+1) with
 * `scale_attn_by_inverse_layer_idx`); `c_proj` back to the model width.
 */
export class GPT2Attention extends Module {
  readonly heads: number;
  readonly headDim: number;

  constructor(
    readonly config: GPT2Config,
    readonly layerIdx: number,
    opts: ModelOptions = {},
  ) {
    super();
    const e = config.n_embd;
    this.heads = config.n_head;
    this.headDim = e / config.n_head;
    const std = config.initializer_range;
    this.registerModule('c_attn', new Conv1D(e, 3 * e, { std, ...opts }));
    this.registerModule('c_proj', new Conv1D(e, e, { std: std / Math.sqrt(2 * config.n_layer), ...opts }));
    this.registerModule('attn_dropout', new Dropout(config.attn_pdrop, opts));
    this.registerModule('resid_dropout', new Dropout(config.resid_pdrop, opts));
  }

  forward(x: Tensor, ctx: AttentionContext, past?: KeyValue | null): Tensor {
    const [qh, kh, vh] = chunk(this.callLayer('c_attn', x), 3, -1);
    const q = splitHeads(qh, this.heads, this.headDim);
    let k = splitHeads(kh, this.heads, this.headDim);
    let v = splitHeads(vh, this.heads, this.headDim);
    if (past) {
      k = concat([past.key, k], 2);
      v = concat([past.value, v], 2);
    }
    cacheKeyValue(ctx, k, v);
    let scale = this.config.scale_attn_weights ? this.headDim ** -0.5 : 1;
    if (this.config.scale_attn_by_inverse_layer_idx) scale /= this.layerIdx + 1;
    const dropout = this.child<Dropout>('attn_dropout');
    const o = attend(q, k, v, scale, {
      ...ctx,
      dropout: dropout.p,
      generator: dropout.generator,
      training: dropout.training,
    });
    return this.callLayer('resid_dropout', this.callLayer('c_proj', mergeHeads(o)));
  }
}

/** `GPT2MLP`: c_proj(act(c_fc(x))), then dropout. */
export class GPT2MLP extends Module {
  constructor(config: GPT2Config, opts: ModelOptions = {}) {
    super();
    const std = config.initializer_range;
    this.registerModule('c_fc', new Conv1D(config.n_embd, config.n_inner, { std, ...opts }));
    this.registerModule(
      'c_proj',
      new Conv1D(config.n_inner, config.n_embd, { std: std / Math.sqrt(2 * config.n_layer), ...opts }),
    );
    this.registerModule('act', activation(config.activation_function));
    this.registerModule('dropout', new Dropout(config.resid_pdrop, opts));
  }

  forward(x: Tensor): Tensor {
    return this.callLayer('dropout', this.callLayer('c_proj', this.callLayer('act', this.callLayer('c_fc', x))));
  }
}

/** `GPT2Block`: pre-LN attention and MLP, each closed by a {@link ResidualAdd}. */
export class GPT2Block extends Module {
  constructor(config: GPT2Config, layerIdx: number, opts: ModelOptions = {}) {
    super();
    const ln = { eps: config.layer_norm_epsilon, ...opts };
    this.registerModule('ln_1', new LayerNorm(config.n_embd, ln));
    this.registerModule('attn', new GPT2Attention(config, layerIdx, opts));
    this.registerModule('ln_2', new LayerNorm(config.n_embd, ln));
    this.registerModule('mlp', new GPT2MLP(config, opts));
    this.registerModule('attention_residual', new ResidualAdd('attention'));
    this.registerModule('mlp_residual', new ResidualAdd('feed_forward'));
  }

  forward(x: Tensor, ctx: AttentionContext, past?: KeyValue | null): Tensor {
    const attn = this.child<GPT2Attention>('attn').forward(this.callLayer('ln_1', x), ctx, past);
    const h = this.child<ResidualAdd>('attention_residual').forward(attn, x);
    const mlp = this.callLayer('mlp', this.callLayer('ln_2', h));
    return this.child<ResidualAdd>('mlp_residual').forward(mlp, h);
  }
}

/** `GPT2Model`: token and learned position embeddings, blocks, final LayerNorm; returns the last hidden state. */
export class GPT2Model extends Module {
  constructor(
    readonly config: GPT2Config,
    opts: ModelOptions = {},
  ) {
    super();
    const c = config;
    const std = c.initializer_range;
    this.registerModule('wte', new Embedding(c.vocab_size, c.n_embd, { initStd: std, ...opts }));
    this.registerModule('wpe', new Embedding(c.n_positions, c.n_embd, { initStd: std, ...opts }));
    this.registerModule('drop', new Dropout(c.embd_pdrop, opts));
    this.registerModule('h', new ModuleList(Array.from({ length: c.n_layer }, (_, i) => new GPT2Block(c, i, opts))));
    this.registerModule('ln_f', new LayerNorm(c.n_embd, { eps: c.layer_norm_epsilon, ...opts }));
  }

  /** The last hidden state. With `cache`, every block appends its keys/values to it. */
  forward(inputs: CausalLMInputs, cache?: KeyValue[]): Tensor {
    const c = this.config;
    const { batch, seq } = inputShape(inputs, c.n_embd);
    const blocks = this.child<ModuleList<GPT2Block>>('h');
    const past = inputs.pastKeyValues ?? null;
    if (past && past.length !== blocks.length) {
      throw new Error(`forward: pastKeyValues has ${past.length} entries for ${blocks.length} layers`);
    }
    const pastLen = past ? past[0].key.shape[2] : 0;
    if (pastLen + seq > c.n_positions) {
      throw new Error(`forward: ${pastLen + seq} positions exceed n_positions = ${c.n_positions}`);
    }
    return composite(() => {
      const tokens = inputs.inputsEmbeds ?? this.child<Embedding>('wte').forward(inputs.inputIds!);
      const positions = unsqueeze(arange(pastLen, pastLen + seq, 1, { backend: tokens.backend }), 0);
      let h = this.callLayer('drop', add(tokens, this.child<Embedding>('wpe').forward(positions)));
      const ctx: AttentionContext = {
        mask: keyPaddingMask(inputs.attentionMask, batch, pastLen + seq),
        causal: true,
        dropout: 0,
        training: this.training,
        cache,
      };
      let i = 0;
      for (const block of blocks) h = block.forward(h, ctx, past ? past[i++] : null);
      return this.callLayer('ln_f', h);
    });
  }
}

/**
 * Hugging Face's `GPT2LMHeadModel`: {@link GPT2Model} under `transformer.` and an `lm_head` tied to
 * `transformer.wte` (unless `tie_word_embeddings` is false). Linear layers are GPT-2's Conv1D ([in, out] weights).
 */
export class GPT2LMHeadModel extends PreTrainedModel<GPT2Config, CausalLMInputs> {
  readonly architecture = 'GPT2LMHeadModel';
  readonly basePrefix = 'transformer';
  override readonly ignoredCheckpointKeys = [/(^|\.)attn\.(masked_)?bias$/];

  /** Build with fresh weights (Hugging Face's initialisation); `config` may be a raw config.json object. */
  constructor(config: GPT2Config | RawConfig, opts: ModelOptions = {}) {
    const c =
      'raw' in config && config.model_type === 'gpt2' ? (config as GPT2Config) : parseGPT2Config(config as RawConfig);
    super(c);
    const transformer = this.registerModule('transformer', new GPT2Model(c, opts));
    const head = this.registerModule(
      'lm_head',
      new Linear(c.n_embd, c.vocab_size, { bias: false, initStd: c.initializer_range, ...opts }),
    );
    if (c.tie_word_embeddings) head.setParameter('weight', transformer.child<Embedding>('wte').weight)?.dispose();
  }

  getInputEmbeddings(): Embedding {
    return this.getSubmodule('transformer.wte') as Embedding;
  }

  forward(inputs: CausalLMInputs): ModelOutput {
    const cache: KeyValue[] | undefined = inputs.useCache ? [] : undefined;
    const logits = composite(() =>
      this.callLayer('lm_head', this.child<GPT2Model>('transformer').forward(inputs, cache)),
    );
    const loss = inputs.labels ? causalLMLoss(logits, inputs.labels) : null;
    return cache ? { logits, loss, pastKeyValues: cache } : { logits, loss };
  }
}

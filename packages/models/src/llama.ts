import { activation, Embedding, Linear, Module, ModuleList, RMSNorm, SiLU } from '@peftjs/nn';
import { applyRotaryHeads, composite, concat, mul, siluMul, type Tensor } from '@peftjs/tensor';
import { type AttentionContext, attend, cacheKeyValue, mergeHeads, splitHeads } from './attention.js';
import {
  type CausalLMInputs,
  causalLMLoss,
  inputShape,
  type KeyValue,
  keyPaddingMask,
  type ModelOutput,
} from './common.js';
import { type LlamaConfig, parseLlamaConfig, type RawConfig } from './config.js';
import { type ModelOptions, PreTrainedModel } from './pretrained.js';
import { ResidualAdd } from './residual.js';
import { ropeInvFreq, ropeTables } from './rope.js';

/** What LLaMA's attention layers need besides their input: the shared context plus the RoPE tables. */
export interface LlamaContext extends AttentionContext {
  /** cos table [seq, head_dim] for the sequence's positions. */
  cos: Tensor;
  /** sin table [seq, head_dim]. */
  sin: Tensor;
}

/** `LlamaAttention`: q/k/v/o projections, RoPE on q and k, grouped-query attention (kv heads repeated). */
export class LlamaAttention extends Module {
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly dropoutP: number;

  constructor(
    config: LlamaConfig,
    readonly layerIdx: number,
    opts: ModelOptions = {},
  ) {
    super();
    this.heads = config.num_attention_heads;
    this.kvHeads = config.num_key_value_heads;
    this.headDim = config.head_dim;
    this.dropoutP = config.attention_dropout;
    const lin = { bias: config.attention_bias, initStd: config.initializer_range, ...opts };
    const e = config.hidden_size;
    this.registerModule('q_proj', new Linear(e, this.heads * this.headDim, lin));
    this.registerModule('k_proj', new Linear(e, this.kvHeads * this.headDim, lin));
    this.registerModule('v_proj', new Linear(e, this.kvHeads * this.headDim, lin));
    this.registerModule('o_proj', new Linear(this.heads * this.headDim, e, lin));
  }

  /** x [B, T, hidden] → [B, T, hidden]. `past` holds keys/values (already rotated) to attend to first. */
  forward(x: Tensor, ctx: LlamaContext, past?: KeyValue | null): Tensor {
    // split heads and rotate in one step (one kernel each way where the backend has it)
    const q = applyRotaryHeads(this.callLayer('q_proj', x), this.heads, ctx.cos, ctx.sin);
    let k = applyRotaryHeads(this.callLayer('k_proj', x), this.kvHeads, ctx.cos, ctx.sin);
    let v = splitHeads(this.callLayer('v_proj', x), this.kvHeads, this.headDim);
    if (past) {
      k = concat([past.key, k], 2);
      v = concat([past.value, v], 2);
    }
    cacheKeyValue(ctx, k, v);
    // grouped-query attention without repeating k and v (the same scores as repeat_kv, no copies)
    const o = attend(q, k, v, this.headDim ** -0.5, { ...ctx, dropout: this.dropoutP }, this.kvHeads !== this.heads);
    return this.callLayer('o_proj', mergeHeads(o));
  }
}

/** `LlamaMLP`: down_proj(act(gate_proj(x)) · up_proj(x)) (SwiGLU with `hidden_act` = silu). */
export class LlamaMLP extends Module {
  constructor(config: LlamaConfig, opts: ModelOptions = {}) {
    super();
    const lin = { bias: config.mlp_bias, initStd: config.initializer_range, ...opts };
    this.registerModule('gate_proj', new Linear(config.hidden_size, config.intermediate_size, lin));
    this.registerModule('up_proj', new Linear(config.hidden_size, config.intermediate_size, lin));
    this.registerModule('down_proj', new Linear(config.intermediate_size, config.hidden_size, lin));
    this.registerModule('act_fn', activation(config.hidden_act));
  }

  forward(x: Tensor): Tensor {
    const act = this.child('act_fn');
    const gate = this.callLayer('gate_proj', x);
    // SiLU (LLaMA's hidden_act) fuses with the product: one kernel each way where the backend has it
    const gated =
      act.constructor === SiLU
        ? siluMul(gate, this.callLayer('up_proj', x))
        : mul(this.callLayer('act_fn', gate), this.callLayer('up_proj', x));
    return this.callLayer('down_proj', gated);
  }
}

/** `LlamaDecoderLayer`: pre-norm attention and MLP blocks, each closed by a {@link ResidualAdd}. */
export class LlamaDecoderLayer extends Module {
  constructor(config: LlamaConfig, layerIdx: number, opts: ModelOptions = {}) {
    super();
    this.registerModule('self_attn', new LlamaAttention(config, layerIdx, opts));
    this.registerModule('mlp', new LlamaMLP(config, opts));
    this.registerModule('input_layernorm', new RMSNorm(config.hidden_size, { eps: config.rms_norm_eps, ...opts }));
    this.registerModule(
      'post_attention_layernorm',
      new RMSNorm(config.hidden_size, { eps: config.rms_norm_eps, ...opts }),
    );
    this.registerModule('attention_residual', new ResidualAdd('attention'));
    this.registerModule('mlp_residual', new ResidualAdd('feed_forward'));
  }

  forward(x: Tensor, ctx: LlamaContext, past?: KeyValue | null): Tensor {
    const attn = this.child<LlamaAttention>('self_attn').forward(this.callLayer('input_layernorm', x), ctx, past);
    const h = this.child<ResidualAdd>('attention_residual').forward(attn, x);
    const mlp = this.child<LlamaMLP>('mlp').forward(this.callLayer('post_attention_layernorm', h));
    return this.child<ResidualAdd>('mlp_residual').forward(mlp, h);
  }
}

/** `LlamaModel`: embeddings, decoder layers and the final norm; returns the last hidden state. */
export class LlamaModel extends Module {
  readonly invFreq: Float32Array;

  constructor(
    readonly config: LlamaConfig,
    readonly opts: ModelOptions = {},
  ) {
    super();
    const c = config;
    this.registerModule(
      'embed_tokens',
      new Embedding(c.vocab_size, c.hidden_size, { paddingIdx: c.pad_token_id, initStd: c.initializer_range, ...opts }),
    );
    this.registerModule(
      'layers',
      new ModuleList(Array.from({ length: c.num_hidden_layers }, (_, i) => new LlamaDecoderLayer(c, i, opts))),
    );
    this.registerModule('norm', new RMSNorm(c.hidden_size, { eps: c.rms_norm_eps, ...opts }));
    this.invFreq = ropeInvFreq(c.head_dim, c.rope_theta, c.rope_scaling);
  }

  /** Hidden states [B, T, hidden] after the final norm. With `cache`, every layer appends its keys/values to it. */
  forward(inputs: CausalLMInputs, cache?: KeyValue[]): Tensor {
    const c = this.config;
    const { batch, seq } = inputShape(inputs, c.hidden_size);
    const layers = this.child<ModuleList<LlamaDecoderLayer>>('layers');
    const past = inputs.pastKeyValues ?? null;
    if (past && past.length !== layers.length) {
      throw new Error(`forward: pastKeyValues has ${past.length} entries for ${layers.length} layers`);
    }
    const pastLen = past ? past[0].key.shape[2] : 0;
    return composite(() => {
      let h = inputs.inputsEmbeds ?? this.child<Embedding>('embed_tokens').forward(inputs.inputIds!);
      const positions = Array.from({ length: seq }, (_, i) => pastLen + i);
      const { cos, sin } = ropeTables(positions, this.invFreq, h.backend);
      const ctx: LlamaContext = {
        cos,
        sin,
        mask: keyPaddingMask(inputs.attentionMask, batch, pastLen + seq),
        causal: true,
        dropout: c.attention_dropout,
        generator: this.opts.generator,
        training: this.training,
        cache,
      };
      let i = 0;
      for (const layer of layers) h = layer.forward(h, ctx, past ? past[i++] : null);
      return this.callLayer('norm', h);
    });
  }
}

/**
 * Hugging Face's `LlamaForCausalLM`: {@link LlamaModel} under `model.` and an `lm_head` (tied to
 * `model.embed_tokens` when `tie_word_embeddings`). Parameter names are exactly the checkpoint's.
 */
export class LlamaForCausalLM extends PreTrainedModel<LlamaConfig, CausalLMInputs> {
  readonly architecture = 'LlamaForCausalLM';
  readonly basePrefix = 'model';
  override readonly ignoredCheckpointKeys = [/(^|\.)rotary_emb\.inv_freq$/];

  /** Build with fresh weights (Hugging Face's initialisation); `config` may be a raw config.json object. */
  constructor(config: LlamaConfig | RawConfig, opts: ModelOptions = {}) {
    const c =
      'raw' in config && config.model_type === 'llama'
        ? (config as LlamaConfig)
        : parseLlamaConfig(config as RawConfig);
    super(c);
    const model = this.registerModule('model', new LlamaModel(c, opts));
    const head = this.registerModule(
      'lm_head',
      new Linear(c.hidden_size, c.vocab_size, { bias: false, initStd: c.initializer_range, ...opts }),
    );
    if (c.tie_word_embeddings) head.setParameter('weight', model.child<Embedding>('embed_tokens').weight)?.dispose();
  }

  getInputEmbeddings(): Embedding {
    return this.getSubmodule('model.embed_tokens') as Embedding;
  }

  forward(inputs: CausalLMInputs): ModelOutput {
    const cache: KeyValue[] | undefined = inputs.useCache ? [] : undefined;
    const logits = composite(() => this.callLayer('lm_head', this.child<LlamaModel>('model').forward(inputs, cache)));
    const loss = inputs.labels ? causalLMLoss(logits, inputs.labels) : null;
    return cache ? { logits, loss, pastKeyValues: cache } : { logits, loss };
  }
}

import {
  activation,
  Dropout,
  Embedding,
  LayerNorm,
  type LayerModule,
  Linear,
  Module,
  ModuleList,
  Tanh,
} from '@peftjs/nn';
import {
  add,
  arange,
  composite,
  concat,
  full,
  isGradEnabled,
  reshape,
  slice,
  sub,
  type Tensor,
  unsqueeze,
} from '@peftjs/tensor';
import { type AttentionContext, attend, mergeHeads, splitHeads } from './attention.js';
import {
  inputShape,
  type KeyValue,
  keyPaddingMask,
  type ModelOutput,
  type SequenceClassificationInputs,
  sequenceClassificationLoss,
} from './common.js';
import { type BertConfig, parseBertConfig, type RawConfig } from './config.js';
import { type ModelOptions, PreTrainedModel } from './pretrained.js';
import { ResidualAdd, type ResidualSublayer } from './residual.js';

const linearOpts = (c: BertConfig, opts: ModelOptions) => ({ initStd: c.initializer_range, ...opts });

/** `BertEmbeddings`: word + absolute position + token type embeddings, then LayerNorm and dropout. */
export class BertEmbeddings extends Module {
  constructor(
    readonly config: BertConfig,
    opts: ModelOptions = {},
  ) {
    super();
    const c = config;
    const std = c.initializer_range;
    this.registerModule(
      'word_embeddings',
      new Embedding(c.vocab_size, c.hidden_size, { paddingIdx: c.pad_token_id, initStd: std, ...opts }),
    );
    this.registerModule(
      'position_embeddings',
      new Embedding(c.max_position_embeddings, c.hidden_size, { initStd: std, ...opts }),
    );
    this.registerModule(
      'token_type_embeddings',
      new Embedding(c.type_vocab_size, c.hidden_size, { initStd: std, ...opts }),
    );
    this.registerModule('LayerNorm', new LayerNorm(c.hidden_size, { eps: c.layer_norm_eps, ...opts }));
    this.registerModule('dropout', new Dropout(c.hidden_dropout_prob, opts));
  }

  /** `pastLen`: keys/values already attended to (prefix tuning); positions start there, as in Hugging Face. */
  forward(inputs: SequenceClassificationInputs, batch: number, seq: number, pastLen = 0): Tensor {
    if (pastLen + seq > this.config.max_position_embeddings) {
      throw new Error(
        `forward: ${pastLen + seq} positions exceed max_position_embeddings = ${this.config.max_position_embeddings}`,
      );
    }
    const words = inputs.inputsEmbeds ?? this.child<Embedding>('word_embeddings').forward(inputs.inputIds!);
    const backend = words.backend;
    const positions = unsqueeze(arange(pastLen, pastLen + seq, 1, { backend }), 0);
    const types = inputs.tokenTypeIds ?? full([batch, seq], 0, { dtype: 'i32', backend });
    let h = add(words, this.child<Embedding>('token_type_embeddings').forward(types));
    h = add(h, this.child<Embedding>('position_embeddings').forward(positions));
    return this.callLayer('dropout', this.callLayer('LayerNorm', h));
  }
}

/** `BertSelfAttention`: query/key/value projections (with bias) and scaled dot-product attention. */
export class BertSelfAttention extends Module {
  readonly heads: number;
  readonly headDim: number;

  constructor(config: BertConfig, opts: ModelOptions = {}) {
    super();
    const e = config.hidden_size;
    this.heads = config.num_attention_heads;
    this.headDim = e / this.heads;
    const lin = linearOpts(config, opts);
    this.registerModule('query', new Linear(e, e, lin));
    this.registerModule('key', new Linear(e, e, lin));
    this.registerModule('value', new Linear(e, e, lin));
    this.registerModule('dropout', new Dropout(config.attention_probs_dropout_prob, opts));
  }

  /** The additive bias of the key projection (looking through adapter wrappers' `base_layer`), if any. */
  private keyBias(): Tensor | null {
    let m: Module | null = this.child('key');
    while (m) {
      if (m instanceof Linear) return m.bias;
      m = m.optionalChild('base_layer');
    }
    return null;
  }

  /** `past`: keys/values [B, heads, P, head_dim] attended to before the sequence's own (prefix tuning). */
  forward(x: Tensor, ctx: AttentionContext, past?: KeyValue | null): Tensor {
    const q = splitHeads(this.callLayer('query', x), this.heads, this.headDim);
    let key = this.callLayer('key', x);
    // The key bias adds q·b to every score of a query's row, which softmax ignores: its true gradient is exactly
    // zero. Taking it back out of the keys leaves the scores unchanged (up to rounding) and makes the gradient
    // exactly zero, instead of float32 rounding noise. Past keys lack the bias, so with them it is not a constant.
    const bias = this.keyBias();
    if (!past && bias?.requiresGrad && isGradEnabled()) key = sub(key, bias);
    let k = splitHeads(key, this.heads, this.headDim);
    let v = splitHeads(this.callLayer('value', x), this.heads, this.headDim);
    if (past) {
      k = concat([past.key, k], 2);
      v = concat([past.value, v], 2);
    }
    const d = this.child<Dropout>('dropout');
    return mergeHeads(
      attend(q, k, v, this.headDim ** -0.5, { ...ctx, dropout: d.p, generator: d.generator, training: d.training }),
    );
  }
}

/**
 * `BertSelfOutput` / `BertOutput`: dense, dropout, then LayerNorm of the sum with the residual (post-LN), the sum
 * and norm done by a {@link ResidualAdd} named `residual`.
 */
export class BertResidualOutput extends Module {
  constructor(
    config: BertConfig,
    inSize: number,
    opts: ModelOptions = {},
    sublayer: ResidualSublayer = 'feed_forward',
  ) {
    super();
    this.registerModule('dense', new Linear(inSize, config.hidden_size, linearOpts(config, opts)));
    this.registerModule('LayerNorm', new LayerNorm(config.hidden_size, { eps: config.layer_norm_eps, ...opts }));
    this.registerModule('dropout', new Dropout(config.hidden_dropout_prob, opts));
    this.registerModule('residual', new ResidualAdd(sublayer));
  }

  forward(x: Tensor, residual: Tensor): Tensor {
    const out = this.callLayer('dropout', this.callLayer('dense', x));
    return this.child<ResidualAdd>('residual').forward(out, residual, this.child<LayerModule>('LayerNorm'));
  }
}

/** `BertAttention`: `self` attention and its `output` block. */
export class BertAttention extends Module {
  constructor(config: BertConfig, opts: ModelOptions = {}) {
    super();
    this.registerModule('self', new BertSelfAttention(config, opts));
    this.registerModule('output', new BertResidualOutput(config, config.hidden_size, opts, 'attention'));
  }

  forward(x: Tensor, ctx: AttentionContext, past?: KeyValue | null): Tensor {
    const attended = this.child<BertSelfAttention>('self').forward(x, ctx, past);
    return this.child<BertResidualOutput>('output').forward(attended, x);
  }
}

/** `BertIntermediate`: dense to intermediate_size, then the activation. */
export class BertIntermediate extends Module {
  constructor(config: BertConfig, opts: ModelOptions = {}) {
    super();
    this.registerModule('dense', new Linear(config.hidden_size, config.intermediate_size, linearOpts(config, opts)));
    this.registerModule('intermediate_act_fn', activation(config.hidden_act));
  }

  forward(x: Tensor): Tensor {
    return this.callLayer('intermediate_act_fn', this.callLayer('dense', x));
  }
}

/** `BertLayer`: attention, intermediate, output. */
export class BertLayer extends Module {
  constructor(config: BertConfig, opts: ModelOptions = {}) {
    super();
    this.registerModule('attention', new BertAttention(config, opts));
    this.registerModule('intermediate', new BertIntermediate(config, opts));
    this.registerModule('output', new BertResidualOutput(config, config.intermediate_size, opts));
  }

  forward(x: Tensor, ctx: AttentionContext, past?: KeyValue | null): Tensor {
    const a = this.child<BertAttention>('attention').forward(x, ctx, past);
    return this.child<BertResidualOutput>('output').forward(this.callLayer('intermediate', a), a);
  }
}

/** `BertEncoder`: the stack of layers under `layer.N`. */
export class BertEncoder extends Module {
  constructor(config: BertConfig, opts: ModelOptions = {}) {
    super();
    this.registerModule(
      'layer',
      new ModuleList(Array.from({ length: config.num_hidden_layers }, () => new BertLayer(config, opts))),
    );
  }

  forward(x: Tensor, ctx: AttentionContext, past?: readonly KeyValue[] | null): Tensor {
    const layers = this.child<ModuleList<BertLayer>>('layer');
    if (past && past.length !== layers.length) {
      throw new Error(`forward: pastKeyValues has ${past.length} entries for ${layers.length} layers`);
    }
    let h = x;
    let i = 0;
    for (const layer of layers) h = layer.forward(h, ctx, past ? past[i++] : null);
    return h;
  }
}

/** `BertPooler`: tanh(dense(hidden state of the first token)). */
export class BertPooler extends Module {
  constructor(config: BertConfig, opts: ModelOptions = {}) {
    super();
    this.registerModule('dense', new Linear(config.hidden_size, config.hidden_size, linearOpts(config, opts)));
    this.registerModule('activation', new Tanh());
  }

  forward(hidden: Tensor): Tensor {
    const [b, , e] = hidden.shape;
    const first = reshape(slice(hidden, [0, 0, 0], [b, 1, e]), [b, e]);
    return this.callLayer('activation', this.callLayer('dense', first));
  }
}

/** `BertModel`: embeddings, encoder and pooler; returns the last hidden state and the pooled output. */
export class BertModel extends Module {
  constructor(
    readonly config: BertConfig,
    readonly opts: ModelOptions = {},
  ) {
    super();
    this.registerModule('embeddings', new BertEmbeddings(config, opts));
    this.registerModule('encoder', new BertEncoder(config, opts));
    this.registerModule('pooler', new BertPooler(config, opts));
  }

  forward(inputs: SequenceClassificationInputs): { lastHiddenState: Tensor; pooled: Tensor } {
    const { batch, seq } = inputShape(inputs, this.config.hidden_size);
    const past = inputs.pastKeyValues ?? null;
    const pastLen = past?.length ? past[0].key.shape[2] : 0;
    const ctx: AttentionContext = { mask: null, causal: false, dropout: 0, training: this.training };
    const mask = keyPaddingMask(inputs.attentionMask, batch, pastLen + seq);
    const h = this.child<BertEncoder>('encoder').forward(
      this.child<BertEmbeddings>('embeddings').forward(inputs, batch, seq, pastLen),
      { ...ctx, mask },
      past,
    );
    return { lastHiddenState: h, pooled: this.child<BertPooler>('pooler').forward(h) };
  }
}

/**
 * Hugging Face's `BertForSequenceClassification`: {@link BertModel} under `bert.`, dropout, and a `classifier`
 * over the pooled output. The loss follows `problem_type` / `num_labels` as in Hugging Face.
 */
export class BertForSequenceClassification extends PreTrainedModel<BertConfig, SequenceClassificationInputs> {
  readonly architecture = 'BertForSequenceClassification';
  readonly basePrefix = 'bert';
  override readonly ignoredCheckpointKeys = [/(^|\.)embeddings\.position_ids$/, /(^|\.)embeddings\.token_type_ids$/];

  /** Build with fresh weights (Hugging Face's initialisation); `config` may be a raw config.json object. */
  constructor(config: BertConfig | RawConfig, opts: ModelOptions = {}) {
    const c =
      'raw' in config && config.model_type === 'bert' ? (config as BertConfig) : parseBertConfig(config as RawConfig);
    super(c);
    this.registerModule('bert', new BertModel(c, opts));
    this.registerModule('dropout', new Dropout(c.classifier_dropout ?? c.hidden_dropout_prob, opts));
    this.registerModule('classifier', new Linear(c.hidden_size, c.num_labels, linearOpts(c, opts)));
  }

  getInputEmbeddings(): Embedding {
    return this.getSubmodule('bert.embeddings.word_embeddings') as Embedding;
  }

  forward(inputs: SequenceClassificationInputs): ModelOutput {
    const logits = composite(() => {
      const { pooled } = this.child<BertModel>('bert').forward(inputs);
      return this.callLayer('classifier', this.callLayer('dropout', pooled));
    });
    const c = this.config;
    return {
      logits,
      loss: inputs.labels ? sequenceClassificationLoss(logits, inputs.labels, c.num_labels, c.problem_type) : null,
    };
  }
}

import { Embedding, type LayerModule, Linear, LSTM, Module, ModuleList, ReLU, Tanh } from '@peftjs/nn';
import { type Backend, noGrad, randint, reshape, type Tensor, tensor, zerosLike } from '@peftjs/tensor';
import type {
  PrefixTuningConfig,
  PromptEncoderConfig,
  PromptLearningConfig,
  PromptTuningConfig,
  Resolved,
} from './config.js';

/** `torch.nn.Sequential`: children `0`, `1`, … applied in order. */
export class Sequential extends ModuleList<Module> {
  forward(x: Tensor): Tensor {
    let h = x;
    for (const m of this) h = (m as LayerModule).forward(h);
    return h;
  }
}

/**
 * A prompt-learning method's trainable module (PEFT's `prompt_encoder.<adapter>`). `prompts()` is what the model
 * receives for the virtual tokens `arange(n)`: [n, width] (width = token_dim, or num_layers·2·token_dim for a
 * prefix). PEFT saves exactly this as `prompt_embeddings`.
 */
export abstract class PromptModule extends Module {
  get embedding(): Embedding {
    return this.child<Embedding>('embedding');
  }
  abstract prompts(): Tensor;
}

/** What the encoders need from the model for initialisation. */
export interface EncoderModel {
  /** The model's word embeddings (SAMPLE_VOCAB, TEXT). */
  wordEmbeddings(): Embedding;
  /** Where the model's parameters live (the encoder's are created there). */
  backend: Backend | undefined;
}

/** PEFT's `PromptEmbedding` (prompt tuning): `embedding` [total, token_dim], initialised per `prompt_tuning_init`. */
export class PromptEmbedding extends PromptModule {
  constructor(config: Resolved<PromptTuningConfig>, model: EncoderModel, initTokens: () => number[] | null) {
    super();
    const total = config.num_virtual_tokens * config.num_transformer_submodules;
    const emb = this.registerModule(
      'embedding',
      new Embedding(total, config.token_dim, { initStd: 1, backend: model.backend }),
    );
    // A saved adapter (inference mode) overwrites the values at once: no need to tokenize or sample.
    if (config.inference_mode || config.prompt_tuning_init === 'RANDOM') return;
    const words = model.wordEmbeddings();
    if (words.embeddingDim !== config.token_dim) {
      throw new Error(`prompt tuning: token_dim ${config.token_dim} ≠ the word embeddings' ${words.embeddingDim}`);
    }
    const backend = words.weight.backend;
    const ids =
      config.prompt_tuning_init === 'TEXT'
        ? tokenIds(repeatToLength(initTokens() ?? [], total), words)
        : randint(0, words.numEmbeddings, [total], { backend });
    const init = noGrad(() => words.forward(ids));
    ids.dispose();
    init.requiresGrad = true;
    emb.setParameter('weight', init)?.dispose();
  }

  prompts(): Tensor {
    return this.embedding.weight;
  }
}

/** PEFT's TEXT init: the text's token ids cut to `total` or repeated (whole copies, then cut). */
export function repeatToLength(ids: readonly number[], total: number): number[] {
  if (ids.length === 0) throw new Error('prompt tuning: prompt_tuning_init_text tokenizes to no tokens');
  const reps = Math.ceil(total / ids.length);
  return Array.from({ length: reps }, () => ids)
    .flat()
    .slice(0, total);
}

function tokenIds(ids: readonly number[], words: Embedding): Tensor {
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= words.numEmbeddings)
      throw new Error(`prompt tuning: token id ${id} is outside the vocabulary (${words.numEmbeddings})`);
  }
  return tensor(Int32Array.from(ids), [ids.length], { dtype: 'i32', backend: words.weight.backend });
}

/**
 * PEFT's `PromptEncoder` (P-tuning): `embedding` [total, token_dim], then `mlp_head` (Linear → ReLU → Linear →
 * ReLU → Linear) or `lstm_head` (bidirectional LSTM) + `mlp_head` (Linear(2h, 2h) → ReLU → Linear(2h, token_dim)).
 * In inference mode (a saved adapter) it is the embedding alone: the saved values are the encoder's output.
 */
export class PromptEncoder extends PromptModule {
  readonly reparameterization: 'MLP' | 'LSTM' | null;

  constructor(config: Resolved<PromptEncoderConfig>, backend?: Backend) {
    super();
    const o = { backend };
    const total = config.num_virtual_tokens * config.num_transformer_submodules;
    const d = config.token_dim;
    const h = config.encoder_hidden_size ?? d;
    this.registerModule('embedding', new Embedding(total, d, { initStd: 1, backend }));
    this.reparameterization = config.inference_mode ? null : (config.encoder_reparameterization_type ?? 'MLP');
    if (this.reparameterization === 'MLP') {
      this.registerModule(
        'mlp_head',
        new Sequential([new Linear(d, h, o), new ReLU(), new Linear(h, h, o), new ReLU(), new Linear(h, d, o)]),
      );
    } else if (this.reparameterization === 'LSTM') {
      this.registerModule(
        'lstm_head',
        new LSTM(d, h, {
          numLayers: config.encoder_num_layers,
          dropout: config.encoder_dropout,
          bidirectional: true,
          batchFirst: true,
          backend,
        }),
      );
      this.registerModule(
        'mlp_head',
        new Sequential([new Linear(2 * h, 2 * h, o), new ReLU(), new Linear(2 * h, d, o)]),
      );
    }
  }

  prompts(): Tensor {
    const w = this.embedding.weight;
    if (this.reparameterization === 'MLP') return this.child<Sequential>('mlp_head').forward(w);
    if (this.reparameterization === 'LSTM') {
      const [n, d] = w.shape;
      const seq = this.child<LSTM>('lstm_head').forward(reshape(w, [1, n, d]));
      return reshape(this.child<Sequential>('mlp_head').forward(seq), [n, d]);
    }
    return w;
  }
}

/**
 * PEFT's `PrefixEncoder`: `embedding` [nvt, num_layers·2·token_dim], or with `prefix_projection` (training only)
 * `embedding` [nvt, token_dim] and `transform` (Linear → Tanh → Linear to num_layers·2·token_dim).
 */
export class PrefixEncoder extends PromptModule {
  readonly projection: boolean;

  constructor(config: Resolved<PrefixTuningConfig>, backend?: Backend) {
    super();
    const nvt = config.num_virtual_tokens;
    const d = config.token_dim;
    const width = config.num_layers * 2 * d;
    const h = config.encoder_hidden_size ?? d;
    this.projection = config.prefix_projection === true && !config.inference_mode;
    const emb = this.registerModule(
      'embedding',
      new Embedding(nvt, this.projection ? d : width, { initStd: 1, backend }),
    );
    if (this.projection) {
      const last = new Linear(h, width, { backend });
      this.registerModule('transform', new Sequential([new Linear(d, h, { backend }), new Tanh(), last]));
      if (config.init_weights === 'zero') zeroParams(last);
    } else if (config.init_weights === 'zero') {
      zeroParams(emb);
    }
  }

  prompts(): Tensor {
    const w = this.embedding.weight;
    return this.projection ? this.child<Sequential>('transform').forward(w) : w;
  }
}

function zeroParams(m: Module): void {
  for (const [name, t] of m.namedParameters({ recurse: false })) {
    const z = noGrad(() => zerosLike(t));
    z.requiresGrad = t.requiresGrad;
    m.setParameter(name, z)?.dispose();
  }
}

/** The encoder for a config (by peft_type). */
export function createEncoder(
  config: Resolved<PromptLearningConfig>,
  model: EncoderModel,
  initTokens: () => number[] | null,
): PromptModule {
  switch (config.peft_type) {
    case 'PROMPT_TUNING':
      return new PromptEmbedding(config as Resolved<PromptTuningConfig>, model, initTokens);
    case 'P_TUNING':
      return new PromptEncoder(config as Resolved<PromptEncoderConfig>, model.backend);
    case 'PREFIX_TUNING':
      return new PrefixEncoder(config as Resolved<PrefixTuningConfig>, model.backend);
    default:
      throw new Error(`no prompt encoder for peft_type ${config.peft_type}`);
  }
}

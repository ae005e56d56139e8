import {
  add,
  composite,
  dropout,
  embedding,
  equal,
  full,
  type Generator,
  isGradEnabled,
  kaimingUniform,
  layerNorm,
  linear,
  matmul,
  noGrad,
  ones,
  randn,
  reshape,
  rmsNorm,
  slice,
  type Tensor,
  tensor,
  tidy,
  transpose,
  uniform,
  unsqueeze,
  where,
  zeros,
} from '@peftjs/tensor';
import type { ParamOptions } from './init.js';
import type { LinearLike } from './linear-like.js';
import { Module } from './module.js';

/** Options of {@link Linear}. */
export interface LinearOptions extends ParamOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /**
   * Initialise the weight N(0, initStd²) and the bias with zeros, as Hugging Face's `_init_weights` does with
   * `initializer_range`. Without it, PyTorch's default (Kaiming-uniform weight with a = √5, bias uniform ±1/√in).
   */
  initStd?: number;
}

/**
 * y = x·Wᵀ + b with PyTorch's layout: `weight` is [out, in], `bias` [out]. Initialised as `torch.nn.Linear`
 * (Kaiming-uniform weight with a = √5, bias uniform in ±1/√in) unless `initStd` is given.
 */
export class Linear extends Module implements LinearLike {
  readonly linearLike = true as const;
  readonly fanInFanOut = false;
  readonly quantized = false;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    super();
    const r = { generator: opts.generator, backend: opts.backend };
    const std = opts.initStd;
    const bound = 1 / Math.sqrt(inFeatures);
    this.addParameter(
      'weight',
      [outFeatures, inFeatures],
      std === undefined
        ? () => kaimingUniform([outFeatures, inFeatures], r)
        : () => randn([outFeatures, inFeatures], 0, std, r),
      opts,
    );
    if (opts.bias ?? true) {
      this.addParameter(
        'bias',
        [outFeatures],
        std === undefined ? () => uniform([outFeatures], -bound, bound, r) : () => zeros([outFeatures], r),
        opts,
      );
    } else {
      this.registerParameter('bias', null);
    }
  }

  /** [out, in]. */
  get weight(): Tensor {
    return this.param('weight');
  }
  /** [out], or null without bias. */
  get bias(): Tensor | null {
    return this.optionalParam('bias');
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  denseWeight(): Tensor {
    return reshape(this.weight, this.weight.shape);
  }

  setDenseWeight(w: Tensor): void {
    replaceWeight(
      this,
      noGrad(() => w.detach()),
    );
  }

  protected override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/**
 * GPT-2's `Conv1D`: a linear layer with the weight stored transposed, [in, out], so y = x·W + b. (Hugging Face
 * writes it `Conv1D(nf=out, nx=in)`.) Initialised as Hugging Face does: weight N(0, 0.02), bias zeros.
 */
export class Conv1D extends Module implements LinearLike {
  readonly linearLike = true as const;
  readonly fanInFanOut = true;
  readonly quantized = false;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: ParamOptions & { bias?: boolean /** Weight std (default 0.02). */; std?: number } = {},
  ) {
    super();
    const r = { generator: opts.generator, backend: opts.backend };
    const std = opts.std ?? 0.02;
    this.addParameter('weight', [inFeatures, outFeatures], () => randn([inFeatures, outFeatures], 0, std, r), opts);
    if (opts.bias ?? true) this.addParameter('bias', [outFeatures], () => zeros([outFeatures], r), opts);
    else this.registerParameter('bias', null);
  }

  /** Hugging Face's name for the output size. */
  get nf(): number {
    return this.outFeatures;
  }
  /** Hugging Face's name for the input size. */
  get nx(): number {
    return this.inFeatures;
  }
  /** [in, out]. */
  get weight(): Tensor {
    return this.param('weight');
  }
  get bias(): Tensor | null {
    return this.optionalParam('bias');
  }

  forward(x: Tensor): Tensor {
    const w = this.weight;
    const b = this.bias;
    return composite(() => {
      const y = matmul(x, w);
      return b ? add(y, b) : y;
    });
  }

  denseWeight(): Tensor {
    return transpose(this.weight);
  }

  setDenseWeight(w: Tensor): void {
    replaceWeight(
      this,
      noGrad(() => transpose(w)),
    );
  }

  protected override extraRepr(): string {
    return `nf=${this.outFeatures}, nx=${this.inFeatures}`;
  }
}

/** Options of {@link Embedding}. */
export interface EmbeddingOptions extends ParamOptions {
  /**
   * Row that encodes padding: initialised to zeros and, as in PyTorch, never receives a gradient. Negative values
   * count from the end.
   */
  paddingIdx?: number | null;
  /** Standard deviation of the N(0, σ²) initialisation (default 1, as PyTorch; Hugging Face uses initializer_range). */
  initStd?: number;
}

/** A lookup table [num, dim] indexed by i32 ids of any shape → [...ids.shape, dim]. Initialised N(0, initStd²). */
export class Embedding extends Module {
  readonly paddingIdx: number | null;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    opts: EmbeddingOptions = {},
  ) {
    super();
    let pad = opts.paddingIdx ?? null;
    if (pad !== null) {
      if (pad < 0) pad += numEmbeddings;
      if (!Number.isInteger(pad) || pad < 0 || pad >= numEmbeddings) {
        throw new RangeError(`Embedding: paddingIdx ${opts.paddingIdx} out of range for ${numEmbeddings} rows`);
      }
    }
    this.paddingIdx = pad;
    const r = { generator: opts.generator, backend: opts.backend };
    const init = () => {
      const w = randn([numEmbeddings, embeddingDim], 0, opts.initStd ?? 1, r);
      if (pad === null) return w;
      const keepRow = new Uint8Array(numEmbeddings).fill(1);
      keepRow[pad] = 0;
      const out = tidy(() => where(tensor(keepRow, [numEmbeddings, 1], { backend: opts.backend }), w, 0));
      w.dispose();
      return out;
    };
    this.addParameter('weight', [numEmbeddings, embeddingDim], init, opts);
  }

  get weight(): Tensor {
    return this.param('weight');
  }

  forward(ids: Tensor): Tensor {
    const w = this.weight;
    const pad = this.paddingIdx;
    if (pad === null || !w.requiresGrad || !isGradEnabled()) return embedding(w, ids);
    // Same values, but positions holding the padding id read a detached copy of its row: no gradient reaches it.
    return composite(() => {
      const rows = embedding(w, ids);
      const padRow = slice(w.detach(), [pad, 0], [1, this.embeddingDim]);
      const isPad = unsqueeze(equal(ids, full([], pad, { dtype: ids.dtype, backend: ids.backend })), -1);
      return where(isPad, padRow, rows);
    });
  }

  protected override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, padding_idx=${this.paddingIdx}` : ''}`;
  }
}

/** Options of {@link LayerNorm}. */
export interface LayerNormOptions extends ParamOptions {
  /** Default 1e-5 (PyTorch). */
  eps?: number;
  /** Learn `weight` (and `bias`); default true. */
  elementwiseAffine?: boolean;
  /** Learn `bias` (with `elementwiseAffine`); default true. */
  bias?: boolean;
}

/** Layer normalisation over the last axis: (x − mean) / √(var + eps) · weight + bias (biased variance). */
export class LayerNorm extends Module {
  readonly eps: number;

  constructor(
    readonly normalizedShape: number,
    opts: LayerNormOptions = {},
  ) {
    super();
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.elementwiseAffine ?? true;
    const b = { backend: opts.backend };
    if (affine) this.addParameter('weight', [normalizedShape], () => ones([normalizedShape], b), opts);
    else this.registerParameter('weight', null);
    if (affine && (opts.bias ?? true))
      this.addParameter('bias', [normalizedShape], () => zeros([normalizedShape], b), opts);
    else this.registerParameter('bias', null);
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.optionalParam('weight'), this.optionalParam('bias'), this.eps);
  }

  protected override extraRepr(): string {
    return `(${this.normalizedShape},), eps=${this.eps}`;
  }
}

/**
 * RMS normalisation over the last axis (LLaMA's `LlamaRMSNorm`): x · rsqrt(mean(x²) + eps) · weight, weight
 * initialised to ones.
 */
export class RMSNorm extends Module {
  readonly eps: number;

  constructor(
    readonly hiddenSize: number,
    opts: ParamOptions & { eps?: number } = {},
  ) {
    super();
    this.eps = opts.eps ?? 1e-6;
    this.addParameter('weight', [hiddenSize], () => ones([hiddenSize], { backend: opts.backend }), opts);
  }

  get weight(): Tensor {
    return this.param('weight');
  }

  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }

  protected override extraRepr(): string {
    return `(${this.hiddenSize},), eps=${this.eps}`;
  }
}

/**
 * Inverted dropout while training (zero with probability p, scale the rest by 1/(1−p)); the identity in eval
 * mode. Masks come from the tensor package's counter-based {@link Generator}, identical on every backend.
 */
export class Dropout extends Module {
  /** The stream masks are drawn from (the default generator when unset). */
  generator: Generator | undefined;

  constructor(
    readonly p = 0.5,
    opts: { generator?: Generator } = {},
  ) {
    super();
    if (!(p >= 0 && p < 1)) throw new RangeError(`Dropout: p must be in [0, 1), got ${p}`);
    this.generator = opts.generator;
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    return dropout(x, this.p, { generator: this.generator, training: true });
  }

  protected override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/** The identity. */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** Swap in a new weight tensor, keeping `requiresGrad`, and free the old one. */
function replaceWeight(m: Module, next: Tensor): void {
  const old = m.param('weight');
  next.requiresGrad = old.requiresGrad;
  m.setParameter('weight', next);
  old.dispose();
}

import {
  add,
  chunk,
  composite,
  concat,
  dropout,
  type Generator,
  linear,
  mul,
  reshape,
  sigmoid,
  slice,
  stack,
  type Tensor,
  tanh,
  transpose,
  uniform,
  zeros,
} from '@peftjs/tensor';
import type { ParamOptions } from './init.js';
import { Module } from './module.js';

/** Options of {@link LSTM}. */
export interface LSTMOptions extends ParamOptions {
  /** Stacked layers (default 1). */
  numLayers?: number;
  /** Learn `bias_ih_l*` and `bias_hh_l*` (default true). */
  bias?: boolean;
  /** Inputs and outputs are [batch, seq, feature] (default false: [seq, batch, feature]). */
  batchFirst?: boolean;
  /** Dropout on the outputs of every layer but the last, while training (default 0). */
  dropout?: number;
  /** Run a second, reversed pass per layer and concatenate both (default false). */
  bidirectional?: boolean;
}

/**
 * `torch.nn.LSTM`: parameters `weight_ih_l{k}[_reverse]` [4h, in], `weight_hh_l{k}[_reverse]` [4h, h] and the two
 * biases [4h], gates in PyTorch's order (input, forget, cell, output), all initialised uniform in ±1/√h:
 * ```
 * i, f, g, o = split(W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh)
 * c_t = σ(f)·c_{t−1} + σ(i)·tanh(g);  h_t = σ(o)·tanh(c_t)
 * ```
 * Layers above the first see the previous layer's output (both directions concatenated). The initial states are
 * zero. `forward` returns the output sequence (PyTorch's `output`, [.., seq, directions·h]).
 */
export class LSTM extends Module {
  readonly numLayers: number;
  readonly bidirectional: boolean;
  readonly batchFirst: boolean;
  readonly dropoutP: number;
  readonly hasBias: boolean;
  generator: Generator | undefined;

  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
    opts: LSTMOptions = {},
  ) {
    super();
    this.numLayers = opts.numLayers ?? 1;
    this.bidirectional = opts.bidirectional ?? false;
    this.batchFirst = opts.batchFirst ?? false;
    this.dropoutP = opts.dropout ?? 0;
    this.hasBias = opts.bias ?? true;
    this.generator = opts.generator;
    for (const [n, v] of [
      ['inputSize', inputSize],
      ['hiddenSize', hiddenSize],
      ['numLayers', this.numLayers],
    ] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new RangeError(`LSTM: ${n} must be a positive integer, got ${v}`);
    }
    if (!(this.dropoutP >= 0 && this.dropoutP < 1))
      throw new RangeError(`LSTM: dropout must be in [0, 1), got ${this.dropoutP}`);
    const h = hiddenSize;
    const bound = 1 / Math.sqrt(h);
    const r = { generator: opts.generator, backend: opts.backend };
    const init = (shape: number[]) => () => uniform(shape, -bound, bound, r);
    const dirs = this.bidirectional ? 2 : 1;
    for (let layer = 0; layer < this.numLayers; layer++) {
      const inSize = layer === 0 ? inputSize : h * dirs;
      for (let d = 0; d < dirs; d++) {
        const s = `l${layer}${d === 1 ? '_reverse' : ''}`;
        this.addParameter(`weight_ih_${s}`, [4 * h, inSize], init([4 * h, inSize]), opts);
        this.addParameter(`weight_hh_${s}`, [4 * h, h], init([4 * h, h]), opts);
        if (this.hasBias) {
          this.addParameter(`bias_ih_${s}`, [4 * h], init([4 * h]), opts);
          this.addParameter(`bias_hh_${s}`, [4 * h], init([4 * h]), opts);
        }
      }
    }
  }

  /** x [batch, seq, in] (batchFirst) or [seq, batch, in] → [batch, seq, dirs·h] (or [seq, batch, dirs·h]). */
  forward(x: Tensor): Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.inputSize) {
      throw new Error(`LSTM: input must be rank 3 with ${this.inputSize} features, got [${x.shape.join(', ')}]`);
    }
    return composite(() => {
      // Work in [batch, seq, feature].
      let h = this.batchFirst ? x : transpose(x, 0, 1);
      for (let layer = 0; layer < this.numLayers; layer++) {
        if (layer > 0 && this.training && this.dropoutP > 0) {
          h = dropout(h, this.dropoutP, { generator: this.generator, training: true });
        }
        const outs = [this.direction(h, layer, false)];
        if (this.bidirectional) outs.push(this.direction(h, layer, true));
        h = outs.length === 1 ? outs[0] : concat(outs, 2);
      }
      return this.batchFirst ? h : transpose(h, 0, 1);
    });
  }

  /** One direction of one layer over x [B, T, in] → [B, T, h]. */
  private direction(x: Tensor, layer: number, reverse: boolean): Tensor {
    const s = `l${layer}${reverse ? '_reverse' : ''}`;
    const [b, t] = x.shape;
    const hs = this.hiddenSize;
    const wih = this.param(`weight_ih_${s}`);
    const whh = this.param(`weight_hh_${s}`);
    const bih = this.hasBias ? this.param(`bias_ih_${s}`) : null;
    const bhh = this.hasBias ? this.param(`bias_hh_${s}`) : null;
    // The input projection for every step at once: [B, T, 4h].
    const xProj = linear(x, wih, bih);
    let hPrev = zeros([b, hs], { backend: x.backend });
    let cPrev = zeros([b, hs], { backend: x.backend });
    const outs: Tensor[] = new Array(t);
    for (let k = 0; k < t; k++) {
      const step = reverse ? t - 1 - k : k;
      const xt = reshape(slice(xProj, [0, step, 0], [b, 1, 4 * hs]), [b, 4 * hs]);
      const [i, f, g, o] = chunk(add(xt, linear(hPrev, whh, bhh)), 4, -1);
      const c = add(mul(sigmoid(f), cPrev), mul(sigmoid(i), tanh(g)));
      hPrev = mul(sigmoid(o), tanh(c));
      cPrev = c;
      outs[step] = hPrev;
    }
    return stack(outs, 1);
  }

  protected override extraRepr(): string {
    return `${this.inputSize}, ${this.hiddenSize}, num_layers=${this.numLayers}, batch_first=${this.batchFirst}, bidirectional=${this.bidirectional}`;
  }
}

import { linear, type Tensor } from '@peftjs/tensor';
import { Module } from './module.js';

/**
 * What adapter methods need of a linear base layer, whatever stores its weight: `Linear` ([out, in]), GPT-2's
 * `Conv1D` ([in, out]), and quantized layers (packed 4-bit / int8, see `@peftjs/quant-nf4`). Methods (LoRA, DoRA,
 * IA³, …) and target matching (`all-linear`) use this protocol instead of `instanceof Linear`, so a new kind of
 * base layer only has to implement it to be adaptable.
 *
 * The dense weight is always exchanged in PyTorch `Linear` layout, [out, in], in float32.
 */
export interface LinearLike extends Module {
  /** Marks the protocol (checked by {@link isLinearLike}). */
  readonly linearLike: true;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** True when the stored weight is [in, out] (GPT-2 `Conv1D`): PEFT's `fan_in_fan_out`. */
  readonly fanInFanOut: boolean;
  /** True when the weight is stored quantized (reading it dequantizes; writing it quantizes again). */
  readonly quantized: boolean;
  /** y = x·Wᵀ + b. Extra arguments are ignored by plain layers (adapter wrappers pass them through). */
  forward(x: Tensor, ...rest: unknown[]): Tensor;
  /**
   * The weight as a dense [out, in] float32 tensor that the caller owns and must dispose. For `Linear` it is an
   * alias of the parameter (no copy; gradients reach the parameter); for `Conv1D` a transpose; for quantized
   * layers a dequantized temporary.
   */
  denseWeight(): Tensor;
  /**
   * Replace the weight with the dense [out, in] tensor `w` (quantized layers quantize it again). The caller keeps
   * ownership of `w`; the layer stores its own tensor and frees the old one. `requiresGrad` is kept.
   */
  setDenseWeight(w: Tensor): void;
  /** The bias [out], or null. */
  readonly bias: Tensor | null;
  /**
   * Optional: x·Wᵀ without the bias, computed from the stored weight. Quantized layers implement it with their
   * fused kernels so that no dense W is formed (nor kept for backward); {@link linearNoBias} falls back to
   * `linear(x, denseWeight())` for layers without it.
   */
  linearNoBias?(x: Tensor): Tensor;
}

/**
 * x·Wᵀ for a {@link LinearLike} layer, without its bias: the layer's own `linearNoBias` where it has one (quantized
 * layers, which never form the dense weight), else a product with `denseWeight()` (an alias for `Linear`).
 */
export function linearNoBias(layer: LinearLike, x: Tensor): Tensor {
  if (layer.linearNoBias) return layer.linearNoBias(x);
  return linear(x, layer.denseWeight());
}

/** Whether `m` implements {@link LinearLike}. */
export function isLinearLike(m: unknown): m is LinearLike {
  return m instanceof Module && (m as unknown as Partial<LinearLike>).linearLike === true;
}

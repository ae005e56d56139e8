import type { Generator, Tensor } from '@peftjs/tensor';
import { expand, keep, reshape, scaledDotProductAttention, transpose } from '@peftjs/tensor';
import type { KeyValue } from './common.js';

/** [B, T, H·D] → [B, H, T, D]. */
export function splitHeads(x: Tensor, heads: number, headDim: number): Tensor {
  const [b, t] = x.shape;
  return transpose(reshape(x, [b, t, heads, headDim]), 1, 2);
}

/** [B, H, T, D] → [B, T, H·D]. */
export function mergeHeads(x: Tensor): Tensor {
  const [b, h, t, d] = x.shape;
  return reshape(transpose(x, 1, 2), [b, t, h * d]);
}

/** Hugging Face's `repeat_kv`: [B, Hkv, T, D] → [B, Hkv·n, T, D], each kv head repeated n times in place. */
export function repeatKv(x: Tensor, n: number): Tensor {
  if (n === 1) return x;
  const [b, hkv, t, d] = x.shape;
  return reshape(expand(reshape(x, [b, hkv, 1, t, d]), [b, hkv, n, t, d]), [b, hkv * n, t, d]);
}

/** What every attention layer needs besides its input. */
export interface AttentionContext {
  /** bool [B, 1, 1, Tk] key-padding mask (true = attend), or null. */
  mask: Tensor | null;
  /** Mask future keys (decoders). */
  causal: boolean;
  /** Attention-probability dropout while training (p = 0: none). */
  dropout: number;
  generator?: Generator;
  training: boolean;
  /**
   * When set, each layer appends its full keys/values (past and new, before any kv-head repetition), exempt from
   * scopes: the model's cache for the next decoding step, owned by the caller.
   */
  cache?: KeyValue[] | null;
}

/** Record a layer's full keys/values in `ctx.cache` (when the caller asked for a cache). */
export function cacheKeyValue(ctx: AttentionContext, key: Tensor, value: Tensor): void {
  ctx.cache?.push({ key: keep(key), value: keep(value) });
}

/**
 * softmax(q·kᵀ·scale + masks)·v with Hugging Face's eager semantics: masked scores take the lowest float (not −∞),
 * causal and padding masks combine, dropout on the probabilities while training.
 */
export function attend(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  scale: number,
  ctx: AttentionContext,
  /** k and v have fewer heads than q (grouped-query attention, as {@link repeatKv} would repeat them). */
  groupedQuery = false,
): Tensor {
  return scaledDotProductAttention(q, k, v, {
    causal: ctx.causal,
    mask: ctx.mask,
    scale,
    dropout: ctx.training && ctx.dropout > 0 ? { p: ctx.dropout, generator: ctx.generator } : null,
    enableGqa: groupedQuery,
  });
}

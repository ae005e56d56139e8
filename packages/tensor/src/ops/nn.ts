import { composite, record, registerGradient, tidy } from '../autograd.js';
import { DTypeError, ShapeError } from '../errors.js';
import { type Generator, getDefaultGenerator } from '../random.js';
import { hasKernel } from '../backend.js';
import type { KernelSignatures } from '../kernels.js';
import { broadcastShapes, normAxis, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { tensor } from './creation.js';
import { add, cast, compare, div, mul, neg, rsqrt, silu, square, sub, unbroadcast, where } from './elementwise.js';
import { matmul } from './matmul.js';
import { mean, sum } from './reduce.js';
import { chunk, concat, reshape, transpose } from './shape.js';
import { backendOf, kernel, kernelOutputs } from './util.js';

function lastAxisOp(name: 'softmax' | 'logSoftmax', x: Tensor, axis: number): Tensor {
  if (x.dtype !== 'f32') throw new DTypeError(name, `expects f32, got ${x.dtype}`);
  const a = normAxis(name, axis, x.rank);
  if (a !== x.rank - 1) {
    return composite(() => transpose(lastAxisOp(name, transpose(x, a, -1), -1), a, -1));
  }
  return record(name, [x], kernel(name, 'softmax', [x], { log: name === 'logSoftmax' }), undefined);
}

/** softmax along `axis` (last by default). */
export const softmax = (x: Tensor, axis = -1): Tensor => lastAxisOp('softmax', x, axis);
/** log(softmax(x)) along `axis`, computed stably. */
export const logSoftmax = (x: Tensor, axis = -1): Tensor => lastAxisOp('logSoftmax', x, axis);
registerGradient(
  'softmax',
  (dy, { output }) => [() => kernel('softmaxGrad', 'softmaxGrad', [output, dy], { log: false })],
  () => ({ output: true }),
);
registerGradient(
  'logSoftmax',
  (dy, { output }) => [() => kernel('logSoftmaxGrad', 'softmaxGrad', [output, dy], { log: true })],
  () => ({ output: true }),
);

export interface CrossEntropyOptions {
  /** Label value that contributes nothing (PyTorch's default: -100). */
  ignoreIndex?: number;
  /** 'mean' (over non-ignored targets, as PyTorch), 'sum' or 'none' (per target). */
  reduction?: 'mean' | 'sum' | 'none';
}

/**
 * Cross-entropy between logits [..., C] and i32 class labels [...]. Fused: the softmax is never materialised in
 * the forward pass. With every target ignored, 'mean' gives NaN (as PyTorch).
 */
export function crossEntropy(logits: Tensor, labels: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const reduction = opts.reduction ?? 'mean';
  if (logits.dtype !== 'f32') throw new DTypeError('crossEntropy', `logits must be f32, got ${logits.dtype}`);
  if (labels.dtype !== 'i32') throw new DTypeError('crossEntropy', `labels must be i32, got ${labels.dtype}`);
  const c = logits.shape[logits.rank - 1];
  if (logits.rank < 1 || labels.rank !== logits.rank - 1 || labels.shape.some((d, i) => d !== logits.shape[i])) {
    throw new ShapeError('crossEntropy', 'labels must have the shape of logits without the class axis', [
      logits.shape,
      labels.shape,
    ]);
  }
  return composite(() => {
    const flat = reshape(logits, [-1, c]);
    const flatLabels = reshape(labels, [-1]);
    const perRow = record(
      'crossEntropy',
      [flat, flatLabels],
      kernel('crossEntropy', 'crossEntropy', [flat, flatLabels], { ignoreIndex }),
      {
        ignoreIndex,
      },
    );
    if (reduction === 'none') return reshape(perRow, labels.shape);
    const total = sum(perRow);
    if (reduction === 'sum') return total;
    const count = sum(cast(compare('ne', flatLabels, ignoreIndex), 'f32'));
    return div(total, count);
  });
}
registerGradient<{ ignoreIndex: number }>('crossEntropy', (dy, { inputs: [logits, labels], attrs }) => [
  () => kernel('crossEntropyGrad', 'crossEntropyGrad', [logits, labels, dy], { ignoreIndex: attrs.ignoreIndex }),
  null,
]);

/** Whether a norm's per-feature parameter fits the fused kernels: f32 [D] for x [..., D]. */
const featureVector = (x: Tensor, p: Tensor | null | undefined): boolean =>
  !p || (p.dtype === 'f32' && p.rank === 1 && p.shape[0] === x.shape[x.rank - 1]);

/**
 * Layer normalisation over the last axis (biased variance, as PyTorch). One fused kernel (forward and backward)
 * where the backend has it, the composed ops otherwise; both round each step to f32 the same way.
 */
export function layerNorm(x: Tensor, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  const params = [weight, bias].filter((p): p is Tensor => !!p);
  const backend = backendOf('layerNorm', [x, ...params]);
  if (
    x.dtype === 'f32' &&
    x.rank >= 1 &&
    hasKernel(backend.name, 'layerNorm') &&
    featureVector(x, weight) &&
    featureVector(x, bias)
  ) {
    const attrs = { eps, weight: !!weight, bias: !!bias };
    const inputs = [x, ...params];
    return record('layerNorm', inputs, kernel('layerNorm', 'layerNorm', inputs, attrs, backend), attrs);
  }
  return composite(() => {
    const mu = mean(x, -1, true);
    const centered = sub(x, mu);
    const variance = mean(square(centered), -1, true);
    let y = mul(centered, rsqrt(add(variance, eps)));
    if (weight) y = mul(y, weight);
    if (bias) y = add(y, bias);
    return y;
  });
}
registerGradient<KernelSignatures['layerNorm']['attrs']>(
  'layerNorm',
  (dy, { inputs, attrs }) => {
    const [x] = inputs;
    const w = attrs.weight ? inputs[1] : null;
    const dx = () =>
      kernel('layerNormGrad', 'layerNormGrad', w ? [x, dy, w] : [x, dy], { eps: attrs.eps, weight: !!w });
    // dw = Σ dy·x̂ and db = Σ dy over the rows, as mul's and add's gradients reduce them (trainable norms only)
    const dw = () =>
      unbroadcast(mul(dy, kernel('layerNorm', 'layerNorm', [x], { eps: attrs.eps, weight: false, bias: false })), [
        x.shape[x.rank - 1],
      ]);
    const db = () => unbroadcast(dy.detach(), [x.shape[x.rank - 1]]);
    return attrs.weight ? (attrs.bias ? [dx, dw, db] : [dx, dw]) : attrs.bias ? [dx, db] : [dx];
  },
  // x is read by every gradient, the weight only by x's; the output by none
  (tracks) => ({ inputs: [true, tracks[0]] }),
);

/**
 * RMS normalisation over the last axis (LLaMA): x · rsqrt(mean(x²) + eps) · weight, in torch's LlamaRMSNorm order.
 * One fused kernel (forward and backward) where the backend has it, the composed ops otherwise; both round each
 * step to f32 the same way.
 */
export function rmsNorm(x: Tensor, weight?: Tensor | null, eps = 1e-6): Tensor {
  const backend = backendOf('rmsNorm', weight ? [x, weight] : [x]);
  if (x.dtype === 'f32' && x.rank >= 1 && hasKernel(backend.name, 'rmsNorm') && featureVector(x, weight)) {
    const inputs = weight ? [x, weight] : [x];
    return record('rmsNorm', inputs, kernel('rmsNorm', 'rmsNorm', inputs, { eps }, backend), { eps });
  }
  return composite(() => {
    const y = mul(x, rsqrt(add(mean(square(x), -1, true), eps)));
    return weight ? mul(y, weight) : y;
  });
}
registerGradient<{ eps: number }>(
  'rmsNorm',
  (dy, { inputs: [x, w], attrs }) => [
    () => kernel('rmsNormGrad', 'rmsNormGrad', w ? [x, dy, w] : [x, dy], attrs),
    // dw = Σ dy·x̂ over the rows, as mul's gradient reduces it (only when the norm weight trains)
    w ? () => unbroadcast(mul(dy, kernel('rmsNorm', 'rmsNorm', [x], attrs)), w.shape) : null,
  ],
  (tracks) => ({ inputs: [true, tracks[0]] }),
);

/**
 * cos / sin tables [T, D] for rotary position embedding as Hugging Face LLaMA builds them:
 * inv_freq = base^(−2i/D), angles = position ⊗ inv_freq, duplicated to D (the rotate-half layout).
 * Computed in float64 on the host.
 */
export function rotaryTables(
  positions: number | readonly number[],
  dim: number,
  base = 10000,
  like?: Tensor,
): { cos: Tensor; sin: Tensor } {
  if (dim % 2 !== 0) throw new ShapeError('rotaryTables', `head dim ${dim} must be even`);
  const pos = typeof positions === 'number' ? Array.from({ length: positions }, (_, i) => i) : positions;
  const half = dim / 2;
  const cos = new Float32Array(pos.length * dim);
  const sin = new Float32Array(pos.length * dim);
  pos.forEach((p, t) => {
    for (let i = 0; i < half; i++) {
      const angle = p * base ** (-(2 * i) / dim);
      cos[t * dim + i] = cos[t * dim + i + half] = Math.cos(angle);
      sin[t * dim + i] = sin[t * dim + i + half] = Math.sin(angle);
    }
  });
  const backend = like?.backend;
  return { cos: tensor(cos, [pos.length, dim], { backend }), sin: tensor(sin, [pos.length, dim], { backend }) };
}

/** rotate_half(x) = concat(−x₂, x₁) over the last axis. */
const rotateHalf = (x: Tensor): Tensor => {
  const [x1, x2] = chunk(x, 2, -1);
  return concat([neg(x2), x1], -1);
};

/** The shape without leading 1s (the dimensions a table really has). */
const trimmed = (shape: readonly number[]): readonly number[] => {
  let i = 0;
  while (i < shape.length && shape[i] === 1) i++;
  return shape.slice(i);
};

/**
 * x·cos + rotate_half(x)·sin, where rotate_half(x) = concat(−x₂, x₁) over the last axis (LLaMA). One fused kernel
 * (forward and backward) where the backend has it and the tables span trailing dimensions of x, the composed ops
 * otherwise; both round the same way.
 */
export function applyRotary(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  const backend = backendOf('applyRotary', [x, cos, sin]);
  const table = trimmed(cos.shape);
  const d = x.shape[x.rank - 1];
  if (
    x.dtype === 'f32' &&
    cos.dtype === 'f32' &&
    sin.dtype === 'f32' &&
    x.rank >= 1 &&
    d % 2 === 0 &&
    table.length >= 1 &&
    table.length <= x.rank &&
    shapesEqual(table, trimmed(sin.shape)) &&
    shapesEqual(table, x.shape.slice(x.rank - table.length)) &&
    hasKernel(backend.name, 'rotary')
  ) {
    return record(
      'applyRotary',
      [x, cos, sin],
      kernel('applyRotary', 'rotary', [x, cos, sin], { inverse: false, heads: 0 }, backend),
      undefined,
    );
  }
  return composite(() => add(mul(x, cos), mul(rotateHalf(x), sin)));
}
registerGradient(
  'applyRotary',
  (dy, { inputs: [x, cos, sin] }) => [
    () => kernel('applyRotary', 'rotary', [dy, cos, sin], { inverse: true, heads: 0 }),
    // the tables' gradients (tables are constants in the models; composed as mul's gradient reduces them)
    () => unbroadcast(mul(dy, x), cos.shape),
    () => unbroadcast(mul(dy, rotateHalf(x)), sin.shape),
  ],
  ([tx, tc, ts]) => ({ inputs: [tc || ts, tx, tx] }),
);

/**
 * LLaMA's split heads and rotary embedding at once: x [B, T, heads·D] → [B, heads, T, D], each head rotated with
 * tables [T, D] — `applyRotary(transpose(reshape(x, [B, T, heads, D]), 1, 2), cos, sin)`, and equal to it bit for
 * bit. One kernel each way where the backend has the rotary kernel (the transpose is done by the kernel's indexing),
 * the composition otherwise.
 */
export function applyRotaryHeads(x: Tensor, heads: number, cos: Tensor, sin: Tensor): Tensor {
  if (x.rank !== 3 || x.shape[2] % heads !== 0) {
    throw new ShapeError('applyRotaryHeads', `x must be [B, T, heads·D] with ${heads} heads`, [x.shape]);
  }
  const [b, t, hd] = x.shape;
  const d = hd / heads;
  const backend = backendOf('applyRotaryHeads', [x, cos, sin]);
  const tables = [t, d];
  if (
    x.dtype === 'f32' &&
    cos.dtype === 'f32' &&
    sin.dtype === 'f32' &&
    d % 2 === 0 &&
    shapesEqual(trimmed(cos.shape), tables) &&
    shapesEqual(trimmed(sin.shape), tables) &&
    hasKernel(backend.name, 'rotary')
  ) {
    return composite(() => {
      const x4 = reshape(x, [b, t, heads, d]);
      return record(
        'applyRotaryHeads',
        [x4, cos, sin],
        kernel('applyRotaryHeads', 'rotary', [x4, cos, sin], { inverse: false, heads }, backend),
        undefined,
      );
    });
  }
  return composite(() => applyRotary(transpose(reshape(x, [b, t, heads, d]), 1, 2), cos, sin));
}
registerGradient(
  'applyRotaryHeads',
  (dy, { inputs: [x4, cos, sin] }) => {
    const heads = x4.shape[2];
    const split = () => transpose(x4, 1, 2);
    return [
      () => kernel('applyRotaryHeads', 'rotary', [dy, cos, sin], { inverse: true, heads }),
      () => unbroadcast(mul(dy, split()), cos.shape),
      () => unbroadcast(mul(dy, rotateHalf(split())), sin.shape),
    ];
  },
  ([tx, tc, ts]) => ({ inputs: [tc || ts, tx, tx] }),
);

/**
 * SwiGLU's silu(gate) · up (LLaMA's MLP). One fused kernel (forward and backward) where the backend has it and the
 * shapes agree, silu then mul otherwise; both round the same way.
 */
export function siluMul(gate: Tensor, up: Tensor): Tensor {
  const backend = backendOf('siluMul', [gate, up]);
  if (
    gate.dtype === 'f32' &&
    up.dtype === 'f32' &&
    shapesEqual(gate.shape, up.shape) &&
    hasKernel(backend.name, 'siluMul')
  ) {
    return record('siluMul', [gate, up], kernel('siluMul', 'siluMul', [gate, up], {}, backend), undefined);
  }
  return composite(() => mul(silu(gate), up));
}
registerGradient('siluMul', (dy, { inputs: [gate, up] }) => {
  // Both gradients from one pass where the backend can: made here, not in a thunk, because each thunk runs in its
  // own tidy scope, which would free the other output.
  if (gate.tracksGrad && up.tracksGrad && hasKernel(dy.backend.name, 'siluMulGradPair')) {
    const [dGate, dUp] = kernelOutputs('siluMulGrad', 'siluMulGradPair', [gate, up, dy], {});
    return [() => dGate, () => dUp];
  }
  return [
    () => kernel('siluMulGrad', 'siluMulGrad', [gate, up, dy], { part: 'gate' }),
    () => kernel('siluMulGrad', 'siluMulGrad', [gate, up, dy], { part: 'up' }),
  ];
});

export interface AttentionOptions {
  /** Mask future positions (query i attends to keys ≤ i + (Tk − Tq)). */
  causal?: boolean;
  /** bool, broadcastable to [..., Tq, Tk]: true where attention is allowed (e.g. padding masks [B, 1, 1, Tk]). */
  mask?: Tensor | null;
  /** Defaults to 1/√D. */
  scale?: number;
  dropout?: { p: number; generator?: Generator } | null;
  /**
   * Grouped-query attention (torch's `enable_gqa`): k and v have Hkv heads on axis −3, q a multiple n·Hkv of them,
   * and query head h attends with kv head ⌊h / n⌋ (Hugging Face's `repeat_kv` order), without copying k and v n times.
   */
  enableGqa?: boolean;
}

const F32_LOWEST = -3.4028234663852886e38;

/**
 * softmax(q·kᵀ·scale + masks)·v for q [..., Tq, D], k [..., Tk, D], v [..., Tk, Dv]. Masked scores are set to the
 * lowest f32 (as Hugging Face does), so a fully masked row gives a uniform average rather than NaN.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const d = q.shape[q.rank - 1];
  const scale = opts.scale ?? 1 / Math.sqrt(d);
  if (opts.mask && opts.mask.dtype !== 'bool') throw new DTypeError('scaledDotProductAttention', 'mask must be bool');
  const heads = q.rank >= 3 ? q.shape[q.rank - 3] : 1;
  const kvHeads = k.rank >= 3 ? k.shape[k.rank - 3] : 1;
  const groups = opts.enableGqa && kvHeads !== heads ? heads / kvHeads : 1;
  if (groups !== 1 && (!Number.isInteger(groups) || q.rank < 3 || k.rank !== q.rank || v.rank !== q.rank)) {
    throw new ShapeError('scaledDotProductAttention', 'enableGqa: q heads must be a multiple of k / v heads', [
      q.shape,
      k.shape,
    ]);
  }
  if (useCausalCore(q, k, v, opts, kvHeads * groups === heads))
    return causalAttention(q, k, v, scale, opts.mask ?? null, kvHeads, groups);
  return composite(() => {
    // GQA: the n query heads of a kv head are consecutive, so [..., Hkv·n, Tq, D] is [..., Hkv, n·Tq, D] as it
    // stands: one product per kv head (each score is the same dot product), scores viewed back per query head
    const lead = q.shape.slice(0, q.rank - 3);
    const [tq, d] = q.shape.slice(q.rank - 2);
    const grouped = (t: Tensor, cols: number) => reshape(t, [...lead, kvHeads, groups * tq, cols]);
    const perHead = (t: Tensor, cols: number) => reshape(t, [...lead, heads, tq, cols]);
    const tk = k.shape[k.rank - 2];
    const scores =
      groups === 1 ? matmul(q, k, { transB: true }) : perHead(matmul(grouped(q, d), k, { transB: true }), tk);
    let probs = maskedSoftmax(scores, { scale, causal: opts.causal, mask: opts.mask });
    if (opts.dropout && opts.dropout.p > 0)
      probs = dropout(probs, opts.dropout.p, { generator: opts.dropout.generator });
    if (groups === 1) return matmul(probs, v);
    return perHead(matmul(grouped(probs, tk), v), v.shape[v.rank - 1]);
  });
}

/**
 * The attention probabilities softmax(x·scale + masks) over the last axis of scores x [..., Tq, Tk], masked scores
 * set to the lowest f32 first: keys after the query (shifted by Tk − Tq) when `causal`, and keys where the bool
 * `mask` (broadcastable to x) is false. One fused kernel (forward and backward) where the backend has it, the
 * composition mul → where → where → softmax otherwise; both round identically.
 */
export function maskedSoftmax(
  x: Tensor,
  opts: { scale?: number; causal?: boolean; mask?: Tensor | null } = {},
): Tensor {
  const scale = opts.scale ?? 1;
  const causal = opts.causal ?? false;
  const mask = opts.mask ?? null;
  if (x.dtype !== 'f32') throw new DTypeError('maskedSoftmax', `expects f32 scores, got ${x.dtype}`);
  if (mask && mask.dtype !== 'bool') throw new DTypeError('maskedSoftmax', 'mask must be bool');
  if (causal && x.rank < 2)
    throw new ShapeError('maskedSoftmax', 'causal masking needs scores [..., Tq, Tk]', [x.shape]);
  const backend = backendOf('maskedSoftmax', mask ? [x, mask] : [x]);
  const fused =
    hasKernel(backend.name, 'maskedSoftmax') &&
    (!mask || shapesEqual(broadcastShapes('maskedSoftmax', mask.shape, x.shape), x.shape));
  if (!fused) {
    return composite(() => {
      let scores = mul(x, scale);
      const tq = x.shape[x.rank - 2];
      const tk = x.shape[x.rank - 1];
      if (causal) scores = where(causalMask(tq, tk, x), scores, F32_LOWEST);
      if (mask) scores = where(mask, scores, F32_LOWEST);
      return softmax(scores, -1);
    });
  }
  const inputs = mask ? [x, mask] : [x];
  return record('maskedSoftmax', inputs, kernel('maskedSoftmax', 'maskedSoftmax', inputs, { scale, causal }, backend), {
    scale,
    causal,
  });
}
registerGradient<{ scale: number; causal: boolean }>(
  'maskedSoftmax',
  (dy, { inputs, output, attrs }) => [
    () => kernel('maskedSoftmaxGrad', 'maskedSoftmaxGrad', [output, dy, ...inputs.slice(1)], attrs),
    null,
  ],
  () => ({ inputs: [false, true], output: true }),
);

/**
 * Whether causal attention can skip its hidden block: the backend has the causal product and the fused softmax, no
 * dropout on the probabilities, and at least as many keys as queries. A key padding mask may hide more: the hidden
 * scores are never read, hidden probabilities are 0 except in rows the mask hides entirely (a uniform average over
 * every key, which the causal product detects and includes), and those rows' score gradients are 0 whatever dP is.
 */
function useCausalCore(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions, headsMatch: boolean): boolean {
  if (!opts.causal || (opts.dropout && opts.dropout.p > 0) || q.rank < 3 || k.rank !== q.rank || v.rank !== q.rank)
    return false;
  // one (batch, kv head) entry per product: the leading axes agree and k / v heads match q's (or group them)
  const r = q.rank;
  if (!headsMatch || !shapesEqual(k.shape.slice(0, r - 1), v.shape.slice(0, r - 1))) return false;
  if (!shapesEqual(q.shape.slice(0, r - 3), k.shape.slice(0, r - 3))) return false;
  const backend = backendOf('scaledDotProductAttention', [q, k, v]);
  if (!hasKernel(backend.name, 'matmulCausal') || !hasKernel(backend.name, 'maskedSoftmax')) return false;
  if (k.shape[k.rank - 2] < q.shape[q.rank - 2] || q.dtype !== 'f32' || k.dtype !== 'f32' || v.dtype !== 'f32')
    return false;
  return true;
}

/**
 * Causal attention on backends with `matmulCausal`: the same roundings as the composition (scores, masked softmax,
 * probabilities · v), but the products skip the hidden block: the scores above the diagonal are not computed, the
 * zero probabilities there are not read, and the backward pass does the same for dP and dQ (dK and dV are full).
 */
function causalAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  scale: number,
  mask: Tensor | null,
  kvHeads: number,
  groups: number,
): Tensor {
  const { lead, heads, tq, d, tk, dv, bh, rule } = attentionDims(q, k, v, kvHeads);
  return composite(() => {
    // one product per (batch, kv head): its n query heads are consecutive rows, [n·Tq, D]
    const q3 = reshape(q, [bh, groups * tq, d]);
    const k3 = reshape(k, [bh, tk, d]);
    const v3 = reshape(v, [bh, tk, dv]);
    const scores = kernel('scaledDotProductAttention', 'matmulCausal', [q3, k3], {
      transA: false,
      transB: true,
      mode: 'output',
      ...rule,
    });
    const scores4 = reshape(scores, [...lead, heads, tq, tk]);
    const probs4 = kernel('maskedSoftmax', 'maskedSoftmax', mask ? [scores4, mask] : [scores4], {
      scale,
      causal: true,
    });
    scores4.dispose(); // the scores' storage goes as soon as the probabilities exist
    scores.dispose();
    const probs = reshape(probs4, [bh, groups * tq, tk]);
    probs4.dispose();
    const out3 = kernel('scaledDotProductAttention', 'matmulCausal', [probs, v3], {
      transA: false,
      transB: false,
      mode: 'skipA',
      ...rule,
    });
    const out = reshape(out3, [...lead, heads, tq, dv]);
    for (const t of [q3, k3, v3, out3]) t.dispose();
    probs.savedForGrad = true;
    return record<CausalAttentionAttrs>('causalAttention', [q, k, v], out, {
      probs,
      mask,
      scale,
      kvHeads,
      groups,
    });
  });
}

/** The sizes of causal attention's per-(batch, kv head) products, and its causal rule. */
function attentionDims(q: Tensor, k: Tensor, v: Tensor, kvHeads: number) {
  const lead = q.shape.slice(0, q.rank - 3);
  const [tq, d] = q.shape.slice(q.rank - 2);
  const tk = k.shape[k.rank - 2];
  return {
    lead,
    heads: q.shape[q.rank - 3],
    tq,
    d,
    tk,
    dv: v.shape[v.rank - 1],
    bh: lead.reduce((p, x) => p * x, 1) * kvHeads,
    rule: { period: tq, offset: tk - tq },
  };
}

interface CausalAttentionAttrs {
  probs: Tensor;
  mask: Tensor | null;
  scale: number;
  kvHeads: number;
  groups: number;
}

registerGradient<CausalAttentionAttrs>('causalAttention', (dy, { inputs: [q, k, v], attrs }) => {
  const { probs, mask, scale, kvHeads, groups } = attrs;
  const { lead, heads, tq, d, tk, dv, bh, rule } = attentionDims(q, k, v, kvHeads);
  const op = 'scaledDotProductAttention';
  // dS, shared by dq and dk (each thunk runs in its own tidy, so it is made here and freed by its last reader):
  // dP = dO·vᵀ where visible, then the masked softmax's gradient, 0 where hidden
  let readers = (q.tracksGrad ? 1 : 0) + (k.tracksGrad ? 1 : 0);
  const ds = readers
    ? tidy(() => {
        const dp = kernel(op, 'matmulCausal', [reshape(dy, [bh, groups * tq, dv]), reshape(v, [bh, tk, dv])], {
          transA: false,
          transB: true,
          mode: 'output',
          ...rule,
        });
        const g = kernel(
          'maskedSoftmaxGrad',
          'maskedSoftmaxGrad',
          [reshape(probs, [...lead, heads, tq, tk]), reshape(dp, [...lead, heads, tq, tk]), ...(mask ? [mask] : [])],
          { scale, causal: true },
        );
        return reshape(g, [bh, groups * tq, tk]);
      })
    : null;
  const withScoresGrad = (f: (ds: Tensor) => Tensor) => () => {
    const r = f(ds as Tensor);
    if (--readers === 0) ds?.dispose();
    return r;
  };
  return [
    withScoresGrad((g) =>
      reshape(
        kernel(op, 'matmulCausal', [g, reshape(k, [bh, tk, d])], {
          transA: false,
          transB: false,
          mode: 'skipA',
          ...rule,
        }),
        q.shape,
      ),
    ),
    withScoresGrad((g) =>
      reshape(kernel(op, 'matmul', [g, reshape(q, [bh, groups * tq, d])], { transA: true, transB: false }), k.shape),
    ),
    () =>
      reshape(
        kernel(op, 'matmul', [probs, reshape(dy, [bh, groups * tq, dv])], { transA: true, transB: false }),
        v.shape,
      ),
  ];
});

/** bool [Tq, Tk]: true where key j is visible to query i (j ≤ i + Tk − Tq). */
export function causalMask(tq: number, tk: number, like?: Tensor): Tensor {
  const m = new Uint8Array(tq * tk);
  for (let i = 0; i < tq; i++) for (let j = 0; j < tk; j++) m[i * tk + j] = j <= i + tk - tq ? 1 : 0;
  return tensor(m, [tq, tk], { dtype: 'bool', backend: like?.backend });
}

/**
 * Inverted dropout: zero each element with probability p and scale the rest by 1/(1−p). The mask comes from the
 * counter-based generator on the device, so it is identical across backends for the same seed.
 */
export function dropout(x: Tensor, p: number, opts: { generator?: Generator; training?: boolean } = {}): Tensor {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout: p must be in [0, 1), got ${p}`);
  if (p === 0 || opts.training === false) return x;
  const gen = opts.generator ?? getDefaultGenerator();
  const counter = gen.take(x.size);
  const backend = backendOf('dropout', [x]);
  if (x.dtype === 'f32' && hasKernel(backend.name, 'dropout')) {
    const attrs = { p, key: gen.key, counter };
    return record('dropout', [x], kernel('dropout', 'dropout', [x], attrs, backend), attrs);
  }
  return composite(() => {
    const u = kernel(
      'dropout',
      'randomUniform',
      [],
      { shape: x.shape, key: gen.key, counter },
      backendOf('dropout', [x]),
    );
    return where(compare('ge', u, p), mul(x, 1 / (1 - p)), 0);
  });
}

// the same mask applied to dy (recomputed from the counters: nothing is stored)
registerGradient<KernelSignatures['dropout']['attrs']>(
  'dropout',
  (dy, { attrs }) => [() => kernel('dropout', 'dropout', [dy], attrs)],
  () => ({}),
);

/** x·wᵀ + b with torch's Linear layout (w is [out, in]). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return composite(() => {
    const y = matmul(x, weight, { transB: true });
    return bias ? add(y, bias) : y;
  });
}

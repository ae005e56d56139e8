import type { DType } from './dtype.js';
import type { Shape } from './shape.js';

/**
 * The kernel contract: every backend implements exactly these kernels (forward, plus the few fused gradient
 * kernels that would be wasteful to compose). Everything else in the op layer is composed from them, so a new
 * backend is this list and nothing more.
 *
 * Conventions: all inputs and outputs are contiguous, row-major. Shapes are validated by the op layer before a
 * kernel runs, so kernels may assume well-formed inputs.
 */
export type UnaryOp =
  | 'neg'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'rsqrt'
  | 'abs'
  | 'tanh'
  | 'sigmoid'
  | 'relu'
  | 'gelu'
  | 'geluTanh'
  | 'silu'
  | 'sin'
  | 'cos'
  | 'square'
  | 'reciprocal'
  | 'sign';

/** Unary ops whose derivative a `unaryGrad` kernel computes from the op's input `x` and upstream `dy`. */
export type UnaryGradOp = 'tanh' | 'sigmoid' | 'relu' | 'gelu' | 'geluTanh' | 'silu';

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum';
export type CompareOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';
export type ReduceOp = 'sum' | 'max' | 'min';

/** Backend-side handle of a buffer. Opaque to the op layer. */
export type DataId = object;

/** What a kernel sees of a tensor. */
export interface TensorInfo {
  readonly dataId: DataId;
  readonly shape: Shape;
  readonly dtype: DType;
}

/**
 * A blockwise 4-bit weight as bitsandbytes lays it out (see `@peftjs/quant-nf4`): `shape` values in row-major
 * order, two codes per byte with the first value in the high nibble, one absmax per `blocksize` values (the last
 * block may be partial). With `nested` (double quantization) the absmax input holds u8 codes into `nested.code`,
 * scaled per `nested.blocksize` codes by a float32 nested absmax input, plus `nested.offset`.
 */
export interface Quant4bitLayout {
  /** The 16 float32 code values (NF4 or FP4). */
  readonly code: readonly number[];
  readonly blocksize: number;
  /** Shape of the dequantized weight. */
  readonly shape: Shape;
  readonly nested: { readonly code: readonly number[]; readonly blocksize: number; readonly offset: number } | null;
}

/** Input arity and attributes of every kernel, by name. */
export interface KernelSignatures {
  /** y = op(x); f32 in, f32 out (`neg`, `abs`, `sign`, `square` also accept i32). */
  unary: { inputs: [x: TensorInfo]; attrs: { op: UnaryOp } };
  /** dx = dy · op'(x). */
  unaryGrad: { inputs: [x: TensorInfo, dy: TensorInfo]; attrs: { op: UnaryGradOp } };
  /** out = a op b with numpy broadcasting to `attrs.shape`; a and b share a dtype (f32 or i32). */
  binary: { inputs: [a: TensorInfo, b: TensorInfo]; attrs: { op: BinaryOp; shape: Shape } };
  /** bool out = a op b with broadcasting to `attrs.shape`. */
  compare: { inputs: [a: TensorInfo, b: TensorInfo]; attrs: { op: CompareOp; shape: Shape } };
  /** out = cond ? a : b, broadcast to `attrs.shape`; cond is bool. */
  where: { inputs: [cond: TensorInfo, a: TensorInfo, b: TensorInfo]; attrs: { shape: Shape } };
  /** Convert between dtypes (f32→i32 truncates toward zero; → bool is `x != 0`). */
  cast: { inputs: [x: TensorInfo]; attrs: { dtype: DType } };
  /** A new tensor filled with `value`. */
  fill: { inputs: []; attrs: { shape: Shape; dtype: DType; value: number } };
  /** Reduce one axis; the output keeps it with length 1. */
  reduce: { inputs: [x: TensorInfo]; attrs: { op: ReduceOp; axis: number } };
  /** Index (i32) of the first maximum along `axis`; the output keeps it with length 1. */
  argmax: { inputs: [x: TensorInfo]; attrs: { axis: number } };
  /**
   * Batched matmul on rank-3 inputs: a is [Ba, M, K] ([Ba, K, M] if transA), b is [Bb, K, N] ([Bb, N, K] if
   * transB), where Ba and Bb are equal or one of them is 1 (broadcast). Output [max(Ba, Bb), M, N], f32.
   */
  matmul: { inputs: [a: TensorInfo, b: TensorInfo]; attrs: { transA: boolean; transB: boolean } };
  /** Permute axes: out.shape[i] = x.shape[perm[i]]. */
  transpose: { inputs: [x: TensorInfo]; attrs: { perm: readonly number[] } };
  /** Materialise a numpy-style broadcast of x to `shape`. */
  broadcastTo: { inputs: [x: TensorInfo]; attrs: { shape: Shape } };
  /** Copy the box `[begin, begin + size)` out of x. */
  slice: { inputs: [x: TensorInfo]; attrs: { begin: readonly number[]; size: readonly number[] } };
  /** Zeros of `shape` with x written at `begin` (the gradient of slice). */
  padSlice: { inputs: [x: TensorInfo]; attrs: { shape: Shape; begin: readonly number[] } };
  /** Join along `axis`; all inputs share a dtype and all other dimensions. */
  concat: { inputs: TensorInfo[]; attrs: { axis: number } };
  /** out[..., j, ...] = x[..., indices[j], ...] along `axis`; indices is i32 of any shape (placed at axis). */
  gather: { inputs: [x: TensorInfo, indices: TensorInfo]; attrs: { axis: number } };
  /** Zeros of `shape`, then out[..., indices[j], ...] += dy[..., j, ...] along `axis` (gather's gradient). */
  scatterAdd: { inputs: [dy: TensorInfo, indices: TensorInfo]; attrs: { axis: number; shape: Shape } };
  /** Softmax / log-softmax over the last axis. */
  softmax: { inputs: [x: TensorInfo]; attrs: { log: boolean } };
  /** dx from the op's output y and dy (for log: dx = dy − exp(y)·Σdy; else dx = y·(dy − Σ y·dy)). */
  softmaxGrad: { inputs: [y: TensorInfo, dy: TensorInfo]; attrs: { log: boolean } };
  /** Per-row loss −log softmax(logits)[label] for logits [N, C], labels i32 [N]; 0 where label = ignoreIndex. */
  crossEntropy: { inputs: [logits: TensorInfo, labels: TensorInfo]; attrs: { ignoreIndex: number } };
  /** dlogits = (softmax(logits) − onehot(label)) · dloss[row]; 0 rows where label = ignoreIndex. */
  crossEntropyGrad: {
    inputs: [logits: TensorInfo, labels: TensorInfo, dloss: TensorInfo];
    attrs: { ignoreIndex: number };
  };
  /**
   * Uniform floats in [0, 1) from the counter-based generator: element i is `uniformAt(key, counter + i)`
   * (see random.ts). Identical bits on every backend.
   */
  randomUniform: { inputs: []; attrs: { shape: Shape; key: readonly [number, number]; counter: number } };
  /**
   * The float32 weight of a 4-bit quantized tensor: packed u8 [ceil(n/2)], absmax f32 [blocks] (u8 [blocks] with a
   * f32 nestedAbsmax [ceil(blocks/nested.blocksize)] when double-quantized). out[i] = code[nibble i] · absmax[i/bs].
   */
  dequantize4bit: {
    inputs: [packed: TensorInfo, absmax: TensorInfo, nestedAbsmax?: TensorInfo];
    attrs: Quant4bitLayout;
  };
  /**
   * x · Wᵀ (`transW`) or x · W for a 4-bit weight W of shape [R, C] that is dequantized inside the kernel (no dense
   * copy of W outlives it): x is [M, C] (transW) or [M, R]; out [M, R] or [M, C], f32.
   */
  matmul4bit: {
    inputs: [x: TensorInfo, packed: TensorInfo, absmax: TensorInfo, nestedAbsmax?: TensorInfo];
    attrs: Quant4bitLayout & { transW: boolean };
  };
  /** The float32 weight of an int8 row-quantized tensor: weight i8 [R, C], scb f32 [R]; out = (w · scb) / 127. */
  dequantizeInt8: { inputs: [weight: TensorInfo, scb: TensorInfo]; attrs: Record<string, never> };
  /** x · Wᵀ (`transW`) or x · W for an int8 row-quantized W [R, C] dequantized inside the kernel (as matmul4bit). */
  matmulInt8: { inputs: [x: TensorInfo, weight: TensorInfo, scb: TensorInfo]; attrs: { transW: boolean } };
  /**
   * Indices (i32) of the `k` largest entries of each row along the last axis, best first: NaN above every number,
   * then larger values, ties by the smaller index. Output shape: x.shape with the last axis replaced by k.
   */
  topk: { inputs: [x: TensorInfo]; attrs: { k: number } };

  // Optional fused kernels (OPTIONAL_KERNEL_NAMES): the op layer uses them where the backend has them and composes
  // the contract's kernels otherwise, with the same f32 roundings, so results do not depend on which path ran.

  /**
   * Attention probabilities over the last axis of scores x [..., Tq, Tk]: softmax of `fround(x · scale)`, with
   * masked positions set to the lowest f32 first (Hugging Face's eager semantics): future keys (j > i + Tk − Tq)
   * when `causal`, and keys where the bool `mask` (broadcast to x, optional second input) is false.
   */
  maskedSoftmax: { inputs: TensorInfo[]; attrs: { scale: number; causal: boolean } };
  /** dx of maskedSoftmax from its output y and dy: fround(y·(dy − Σ y·dy)) · scale at visible positions, 0 elsewhere. */
  maskedSoftmaxGrad: { inputs: TensorInfo[]; attrs: { scale: number; causal: boolean } };
  /**
   * Inverted dropout in one pass: out[i] = uniformAt(key, counter + i) ≥ fround(p) ? fround(x[i] · fround(1/(1−p)))
   * : 0 (the same mask the randomUniform kernel draws). Applied to dy with the same attributes it is its own gradient.
   */
  dropout: { inputs: [x: TensorInfo]; attrs: { p: number; key: readonly [number, number]; counter: number } };
  /**
   * torch's AdamW step of one parameter in one pass, elementwise, each product and sum rounded to f32 as the
   * composed ops round: inputs [p, g] (first step) or [p, g, m, v], plus a step-control vector (see `stepStats`)
   * last when `attrs.controlled`. Outputs (the first plus `extra`): p·(1 − lr·wd) − (m' / (√v' / √(1−β₂ᵗ) + ε)) ·
   * lr/(1−β₁ᵗ), m' = β₁m + (1−β₁)g, v' = β₂v + (1−β₂)g². Scalars are rounded to f32 as constants are. Controlled:
   * g is first clipped (fround(g · coef) where the control says so), √(1−β₂ᵗ) and lr/(1−β₁ᵗ) come from the control,
   * and a step the control marks skipped returns p, m, v unchanged (zeros for a first step's m and v).
   */
  adamw: { inputs: TensorInfo[]; attrs: AdamWAttrs };
  /**
   * RMS normalisation over the last axis (D), torch's LlamaRMSNorm order with every step rounded to f32 as the
   * composed ops round: r = fround(1/√fround(fround(fround(Σ fround(x²))/D) + fround(eps))) (the sum in float64 on
   * the CPU), y = fround(x·r), then fround(y·w) with the optional weight w [D]. Inputs [x] or [x, w].
   */
  rmsNorm: { inputs: TensorInfo[]; attrs: { eps: number } };
  /** dx of rmsNorm (not dw) from inputs [x, dy] or [x, dy, w], recomputing r per row. */
  rmsNormGrad: { inputs: TensorInfo[]; attrs: { eps: number } };
  /**
   * Layer normalisation over the last axis (biased variance), rounded as the composed ops round: μ = fround(Σx/D),
   * c = fround(x − μ), r = fround(1/√fround(fround(Σ fround(c²))/D) + fround(eps))), y = fround(c·r), then
   * fround(y·w) and fround(y + b). Inputs [x, w?, b?] as `weight` / `bias` say.
   */
  layerNorm: { inputs: TensorInfo[]; attrs: { eps: number; weight: boolean; bias: boolean } };
  /** dx of layerNorm (not dw, db) from inputs [x, dy] or [x, dy, w]. */
  layerNormGrad: { inputs: TensorInfo[]; attrs: { eps: number; weight: boolean } };
  /**
   * Rotate-half rotary embedding over the last axis (D even, h = D/2): out = fround(fround(x·cos) + fround(rot·sin))
   * with rot = concat(−x₂, x₁). cos and sin share a shape equal to the trailing dimensions of x (they repeat over
   * the leading ones). `inverse` gives the gradient instead: out = fround(fround(x·cos) + rotᵀ) with rotᵀ_i =
   * fround(x_{i+h}·sin_{i+h}) for i < h and −fround(x_{i−h}·sin_{i−h}) above.
   */
  rotary: {
    inputs: [x: TensorInfo, cos: TensorInfo, sin: TensorInfo];
    attrs: {
      inverse: boolean;
      /**
       * With `heads` > 0 the kernel also moves the heads axis (LLaMA's split-heads transpose, no separate copy):
       * forward x [B, T, heads, D] → out [B, heads, T, D]; inverse x [B, heads, T, D] → out [B, T, heads, D]. The
       * tables are then [T, D]. 0: out has the layout of x.
       */
      heads: number;
    };
  };
  /** SwiGLU's product fround(silu(gate) · up), silu rounded to f32 first (as the silu op stores it). */
  siluMul: { inputs: [gate: TensorInfo, up: TensorInfo]; attrs: Record<string, never> };
  /**
   * One gradient of siluMul from [gate, up, dy]: `gate`: fround(fround(dy·up) · silu′(gate)) (silu′ as unaryGrad
   * computes it); `up`: fround(dy · fround(silu(gate))).
   */
  siluMulGrad: { inputs: [gate: TensorInfo, up: TensorInfo, dy: TensorInfo]; attrs: { part: 'gate' | 'up' } };
  /** Both gradients of siluMul in one pass (one sigmoid per element): d gate, and d up as `extra`, as siluMulGrad. */
  siluMulGradPair: { inputs: [gate: TensorInfo, up: TensorInfo, dy: TensorInfo]; attrs: Record<string, never> };
  /**
   * matmul of [batch, ·, ·] operands (as `matmul`) with attention's causal structure: row i of each entry's C is
   * query i mod `period`, whose last visible key is (i mod period) + `offset`. `output`: C's entries past it are 0
   * (and are not computed); `skipA`: op(A)'s entries past it are 0 in each row whose first such entry is 0 (as
   * attention's probabilities and their gradient are), so the sums may stop there. Every other entry is the plain
   * product's.
   */
  matmulCausal: {
    inputs: [a: TensorInfo, b: TensorInfo];
    attrs: { transA: boolean; transB: boolean; mode: 'output' | 'skipA'; period: number; offset: number };
  };
  /**
   * out = fround(base + fround(x · fround(scale))) for inputs [base, x] of one shape, or fround(x · fround(scale))
   * for [x]: the LoRA branch's `base + scaling · B(A(x))` in one pass (and its gradient).
   */
  addScaled: { inputs: TensorInfo[]; attrs: { scale: number } };
  /**
   * DoRA's combine y = result + (scale − 1)·base + (scale·lora)·s for result, base, lora [..., C] and scale [C]
   * (repeated over the leading axes), rounded as the composed ops round: fround(result + fround(fround(fround(
   * fround(scale − 1)·base)) + fround(fround(scale·lora) · fround(s)))).
   */
  doraCombine: {
    inputs: [result: TensorInfo, base: TensorInfo, lora: TensorInfo, scale: TensorInfo];
    attrs: { s: number };
  };
  /**
   * The gradients of doraCombine from [dy, base, lora, scale], in one pass, rounded as the composed ops' gradients:
   * with d3 = fround(dy · fround(s)): d base = fround(dy · fround(scale − 1)), d lora = fround(d3 · scale), and
   * d scale = fround(S(fround(dy · base)) + S(fround(d3 · lora))), where S sums over the leading axes as unbroadcast
   * does: axis rank − 2 first, then rank − 3, … down to 0, each in float64 in order and rounded to f32. Outputs:
   * the parts that `attrs` asks for, in the order base, lora, scale (the first as the output, the others `extra`).
   */
  doraCombineGrad: {
    inputs: [dy: TensorInfo, base: TensorInfo, lora: TensorInfo, scale: TensorInfo];
    attrs: { s: number; base: boolean; lora: boolean; scale: boolean };
  };
  /**
   * acc + Σⱼ Σ xⱼ² over every element of each input (f32 [1]); inputs [x₁, …, x_k] or [x₁, …, x_k, acc] with
   * `attrs.acc` (acc f32 [1]). Rounded as the composed ops round: for each x in order, squares to f32, each axis
   * summed (last first) and rounded, then added to the running f32 total.
   */
  sumSquares: { inputs: TensorInfo[]; attrs: { acc: boolean } };
  /**
   * The device-side verdict of one training step, f32 [STEP_STATS_SIZE] (layout: {@link STEP_STATS}), from
   * inputs [sumsq (f32 [1], Σ g² over every gradient), losses (f32 [k], the step's micro-batch losses),
   * table (f32 [2·c]: lr/(1−β₁ᵗ) and √(1−β₂ᵗ) for t = t₀, t₀−1, …), prev (the previous step's stats, optional)].
   * norm = fround(√sumsq); the step is skipped when a loss or the norm is non-finite, or (`sticky`) when an earlier
   * step was; clip coefficient maxNorm / (norm + 1e-6) applies when below 1; the bias-correction pair is the
   * table's entry number (skips so far − `skipBase`), so a skipped step does not advance the optimizer's t.
   */
  stepStats: { inputs: TensorInfo[]; attrs: StepStatsAttrs };
}

/** Attributes of the {@link KernelSignatures.adamw} kernel. */
export interface AdamWAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step number t (bias corrections; unused when controlled). */
  step: number;
  /** The last input is a `stepStats` control vector. */
  controlled: boolean;
}

/** Attributes of the {@link KernelSignatures.stepStats} kernel. */
export interface StepStatsAttrs {
  /** Gradient-norm clip (Infinity: never clip). */
  maxNorm: number;
  /** A skipped step makes every later one skip too (the trainer's `onNonFinite: 'stop'`). */
  sticky: boolean;
  /** The cumulative skip count at which the table starts. */
  skipBase: number;
}

/** Slots of a `stepStats` vector. */
export const STEP_STATS = {
  /** Global gradient norm fround(√Σg²). */
  norm: 0,
  /** fround(maxNorm / (norm + 1e-6)). */
  coef: 1,
  /** 1 when the gradients are scaled by `coef` (coef < 1). */
  clip: 2,
  /** 0: applied; 1: non-finite loss; 2: non-finite gradient norm; 3: skipped after an earlier bad step (sticky). */
  skip: 3,
  /** Steps skipped so far (this one included), cumulative along the chain of stats. */
  skips: 4,
  /** The chosen lr / (1 − β₁ᵗ). */
  stepSize: 5,
  /** The chosen √(1 − β₂ᵗ). */
  bc2: 6,
} as const;
export const STEP_STATS_SIZE = 8;

export type KernelName = keyof KernelSignatures;

/** Every kernel a backend must register. Kept as a runtime list so backends can be checked for completeness. */
export const KERNEL_NAMES: readonly KernelName[] = [
  'unary',
  'unaryGrad',
  'binary',
  'compare',
  'where',
  'cast',
  'fill',
  'reduce',
  'argmax',
  'matmul',
  'transpose',
  'broadcastTo',
  'slice',
  'padSlice',
  'concat',
  'gather',
  'scatterAdd',
  'softmax',
  'softmaxGrad',
  'crossEntropy',
  'crossEntropyGrad',
  'randomUniform',
  'dequantize4bit',
  'matmul4bit',
  'dequantizeInt8',
  'matmulInt8',
  'topk',
];

/** The kernels that read byte-storage (`u8` / `i8`) inputs; every other kernel refuses them. */
export const BYTE_KERNELS: ReadonlySet<KernelName> = new Set<KernelName>([
  'dequantize4bit',
  'matmul4bit',
  'dequantizeInt8',
  'matmulInt8',
]);
/** Fused kernels a backend may register; ops fall back to composing the kernels of {@link KERNEL_NAMES}. */
export const OPTIONAL_KERNEL_NAMES: readonly KernelName[] = [
  'maskedSoftmax',
  'maskedSoftmaxGrad',
  'dropout',
  'adamw',
  'rmsNorm',
  'rmsNormGrad',
  'layerNorm',
  'layerNormGrad',
  'rotary',
  'siluMul',
  'siluMulGrad',
  'siluMulGradPair',
  'matmulCausal',
  'addScaled',
  'doraCombine',
  'doraCombineGrad',
  'sumSquares',
  'stepStats',
];

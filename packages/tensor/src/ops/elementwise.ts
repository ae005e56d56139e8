import { composite, record, registerGradient } from '../autograd.js';
import type { DType } from '../dtype.js';
import { isFloat } from '../dtype.js';
import { DTypeError } from '../errors.js';
import type { BinaryOp, CompareOp, UnaryGradOp, UnaryOp } from '../kernels.js';
import { broadcastShapes, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { reshape } from './shape.js';
import { sum } from './reduce.js';
import { hasKernel } from '../backend.js';
import { backendOf, finish, kernel, kernelOutputs, operands } from './util.js';

// ---------------------------------------------------------------------------------------------------------------
// Unary

const INT_OK: ReadonlySet<UnaryOp> = new Set<UnaryOp>(['neg', 'abs', 'sign', 'square']);

function unary(op: UnaryOp, x: Tensor): Tensor {
  if (x.dtype === 'bool' || (x.dtype === 'i32' && !INT_OK.has(op))) {
    throw new DTypeError(op, `expects an f32 tensor${INT_OK.has(op) ? ' or i32' : ''}, got ${x.dtype}`);
  }
  return record(op, [x], kernel(op, 'unary', [x], { op }), undefined);
}

export const neg = (x: Tensor): Tensor => unary('neg', x);
export const exp = (x: Tensor): Tensor => unary('exp', x);
export const log = (x: Tensor): Tensor => unary('log', x);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x);
export const abs = (x: Tensor): Tensor => unary('abs', x);
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
export const relu = (x: Tensor): Tensor => unary('relu', x);
export const silu = (x: Tensor): Tensor => unary('silu', x);
export const sin = (x: Tensor): Tensor => unary('sin', x);
export const cos = (x: Tensor): Tensor => unary('cos', x);
export const square = (x: Tensor): Tensor => unary('square', x);
export const reciprocal = (x: Tensor): Tensor => unary('reciprocal', x);
export const sign = (x: Tensor): Tensor => unary('sign', x);
/** GELU: exact (erf) form by default, PyTorch's `approximate='tanh'` form on request. */
export const gelu = (x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor =>
  unary(approximate === 'tanh' ? 'geluTanh' : 'gelu', x);

const fusedGrad =
  (op: UnaryGradOp) =>
  (dy: Tensor, { inputs }: { inputs: readonly Tensor[] }) => [
    () => kernel(`${op}Grad`, 'unaryGrad', [inputs[0], dy], { op }),
  ];
// Which values each gradient reads (the rest of an op's intermediates are freed early, see composite).
const READS_INPUT = () => ({ inputs: [true] });
const READS_OUTPUT = () => ({ output: true });
const READS_NOTHING = () => ({});
for (const op of ['tanh', 'sigmoid', 'relu', 'gelu', 'geluTanh', 'silu'] as const)
  registerGradient(op, fusedGrad(op), READS_INPUT);
registerGradient('neg', (dy) => [() => neg(dy)], READS_NOTHING);
registerGradient('exp', (dy, { output }) => [() => mul(dy, output)], READS_OUTPUT);
registerGradient('log', (dy, { inputs }) => [() => div(dy, inputs[0])], READS_INPUT);
registerGradient('sqrt', (dy, { output }) => [() => div(mul(dy, 0.5), output)], READS_OUTPUT);
registerGradient('rsqrt', (dy, { output }) => [() => mul(dy, mul(pow(output, 3), -0.5))], READS_OUTPUT);
registerGradient('abs', (dy, { inputs }) => [() => mul(dy, sign(inputs[0]))]);
registerGradient('sin', (dy, { inputs }) => [() => mul(dy, cos(inputs[0]))]);
registerGradient('cos', (dy, { inputs }) => [() => neg(mul(dy, sin(inputs[0])))]);
registerGradient('square', (dy, { inputs }) => [() => mul(dy, mul(inputs[0], 2))], READS_INPUT);
registerGradient('reciprocal', (dy, { output }) => [() => neg(mul(dy, square(output)))]);
registerGradient('sign', () => [null]);

// ---------------------------------------------------------------------------------------------------------------
// Binary, with numpy broadcasting

function checkDTypes(op: string, a: Tensor, b: Tensor, allowBool = false): void {
  if (a.dtype !== b.dtype) throw new DTypeError(op, `dtypes differ: ${a.dtype} and ${b.dtype}`);
  if (!allowBool && a.dtype === 'bool') throw new DTypeError(op, 'does not accept bool tensors; cast them first');
}

function binary(op: BinaryOp, x: Tensor | number, y: Tensor | number): Tensor {
  const [a, b, consts] = operands(op, x, y);
  checkDTypes(op, a, b);
  const shape = broadcastShapes(op, a.shape, b.shape);
  return finish(record(op, [a, b], kernel(op, 'binary', [a, b], { op, shape }), undefined), consts);
}

export const add = (a: Tensor | number, b: Tensor | number): Tensor => binary('add', a, b);
export const sub = (a: Tensor | number, b: Tensor | number): Tensor => binary('sub', a, b);
export const mul = (a: Tensor | number, b: Tensor | number): Tensor => binary('mul', a, b);
export const div = (a: Tensor | number, b: Tensor | number): Tensor => binary('div', a, b);
export const pow = (a: Tensor | number, b: Tensor | number): Tensor => binary('pow', a, b);
export const maximum = (a: Tensor | number, b: Tensor | number): Tensor => binary('maximum', a, b);
export const minimum = (a: Tensor | number, b: Tensor | number): Tensor => binary('minimum', a, b);

/** Sum a broadcast gradient back down to `shape` (the inverse of broadcasting). */
export function unbroadcast(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const s = sum(g, axes, true);
  const r = reshape(s, shape);
  s.dispose();
  return r;
}

registerGradient(
  'add',
  (dy, { inputs: [a, b] }) => [() => unbroadcast(dy.detach(), a.shape), () => unbroadcast(dy.detach(), b.shape)],
  READS_NOTHING,
);
registerGradient(
  'sub',
  (dy, { inputs: [a, b] }) => [() => unbroadcast(dy.detach(), a.shape), () => unbroadcast(neg(dy), b.shape)],
  READS_NOTHING,
);
registerGradient(
  'mul',
  (dy, { inputs: [a, b] }) => [() => unbroadcast(mul(dy, b), a.shape), () => unbroadcast(mul(dy, a), b.shape)],
  // each side's gradient reads the other side
  ([ta, tb]) => ({ inputs: [tb, ta] }),
);
registerGradient('div', (dy, { inputs: [a, b] }) => [
  () => unbroadcast(div(dy, b), a.shape),
  () => unbroadcast(neg(div(mul(dy, a), square(b))), b.shape),
]);
registerGradient('pow', (dy, { inputs: [a, b], output }) => [
  () => unbroadcast(mul(dy, mul(b, pow(a, sub(b, 1)))), a.shape),
  () => {
    // d(aᵇ)/db = aᵇ·log a, taken as 0 where a = 0 and b ≥ 0 (as PyTorch) instead of 0·(−∞) = NaN
    const g = mul(output, log(a));
    const safe = where(compare('eq', a, 0), where(compare('ge', b, 0), 0, g), g);
    return unbroadcast(mul(dy, safe), b.shape);
  },
]);
// Ties send half of the gradient to each side, as torch.maximum / torch.minimum do.
const tieSplit =
  (op: 'maximum' | 'minimum') =>
  (dy: Tensor, { inputs: [a, b] }: { inputs: readonly Tensor[] }) => {
    const wins = () =>
      add(cast(compare(op === 'maximum' ? 'gt' : 'lt', a, b), 'f32'), mul(cast(compare('eq', a, b), 'f32'), 0.5));
    return [() => unbroadcast(mul(dy, wins()), a.shape), () => unbroadcast(mul(dy, sub(1, wins())), b.shape)];
  };
/**
 * base + x·scale (LoRA's `result + B(A(x))·scaling`): one fused kernel (forward and backward) where the backend has
 * it and the shapes agree, add and mul otherwise; both round the same way (the scale as an f32 constant).
 */
export function addScaled(base: Tensor, x: Tensor, scale: number): Tensor {
  const backend = backendOf('addScaled', [base, x]);
  if (
    base.dtype === 'f32' &&
    x.dtype === 'f32' &&
    shapesEqual(base.shape, x.shape) &&
    hasKernel(backend.name, 'addScaled')
  ) {
    return record('addScaled', [base, x], kernel('addScaled', 'addScaled', [base, x], { scale }, backend), { scale });
  }
  return add(base, mul(x, scale));
}
registerGradient<{ scale: number }>(
  'addScaled',
  (dy, { attrs }) => [() => dy.detach(), () => kernel('addScaled', 'addScaled', [dy], attrs)],
  READS_NOTHING,
);

/**
 * DoRA's output combine (PEFT's `DoraLinearVariant`): result + (scale − 1)·base + (scale·lora)·s, for `result`,
 * `base` and `lora` of one shape [..., C] and the magnitude scale m/‖W + sBA‖ of shape [C] (repeated over the
 * leading axes). It computes, and differentiates, exactly the composition
 * `add(result, addScaled(mul(sub(scale, 1), base), mul(scale, lora), s))`, with the same f32 roundings:
 * y = fround(result + fround(t2 + fround(t3·fround(s)))), t2 = fround(fround(scale − 1)·base), t3 = fround(scale·lora).
 * Its gradients, with d3 = fround(dy·fround(s)): d result = dy, d base = fround(dy·fround(scale − 1)),
 * d lora = fround(d3·scale), and d scale = fround(S(fround(dy·base)) + S(fround(d3·lora))), S being unbroadcast's
 * sum over the leading axes (axis rank − 2 first, then rank − 3, … 0, each in float64 in order, rounded to f32).
 * Where the backend has the fused kernels (`doraCombine`, `doraCombineGrad`: one pass forward, one backward for all
 * three gradients) and the shapes fit (rank ≥ 2), they run; otherwise the composition itself, so the results never
 * depend on which path ran.
 */
export function doraCombine(result: Tensor, base: Tensor, lora: Tensor, scale: Tensor, s: number): Tensor {
  const backend = backendOf('doraCombine', [result, base, lora, scale]);
  if (
    lora.rank >= 2 &&
    [result, base, lora, scale].every((t) => t.dtype === 'f32') &&
    shapesEqual(result.shape, lora.shape) &&
    shapesEqual(base.shape, lora.shape) &&
    scale.rank === 1 &&
    scale.shape[0] === lora.shape[lora.rank - 1] &&
    hasKernel(backend.name, 'doraCombine') &&
    hasKernel(backend.name, 'doraCombineGrad')
  ) {
    const out = kernel('doraCombine', 'doraCombine', [result, base, lora, scale], { s }, backend);
    return record('doraCombine', [result, base, lora, scale], out, { s });
  }
  return composite(() => add(result, addScaled(mul(sub(scale, 1), base), mul(scale, lora), s)));
}
registerGradient<{ s: number }>(
  'doraCombine',
  (dy, { inputs: [, base, lora, scale], attrs }) => {
    // All three gradients from one pass, made here rather than in a thunk: each thunk runs in its own tidy scope,
    // which would free the other outputs.
    const want = { base: base.tracksGrad, lora: lora.tracksGrad, scale: scale.tracksGrad };
    const parts =
      want.base || want.lora || want.scale
        ? kernelOutputs('doraCombine', 'doraCombineGrad', [dy, base, lora, scale], { s: attrs.s, ...want })
        : [];
    let next = 0;
    const take = (wanted: boolean) => {
      if (!wanted) return null;
      const g = parts[next++];
      return () => g;
    };
    const dBase = take(want.base);
    const dLora = take(want.lora);
    const dScale = take(want.scale);
    return [() => dy.detach(), dBase, dLora, dScale];
  },
  // d base reads scale; d lora reads scale; d scale reads base and lora (the kernel takes scale whenever it runs)
  ([, tb, tl, ts]) => ({ inputs: [false, ts, ts, tb || tl || ts] }),
);

registerGradient('maximum', tieSplit('maximum'));
registerGradient('minimum', tieSplit('minimum'));

// ---------------------------------------------------------------------------------------------------------------
// Comparison, selection, casting

/** Elementwise comparison with broadcasting; returns a bool tensor (not differentiable). */
export function compare(op: CompareOp, x: Tensor | number, y: Tensor | number): Tensor {
  const [a, b, consts] = operands(op, x, y);
  checkDTypes(op, a, b, true);
  return finish(kernel(op, 'compare', [a, b], { op, shape: broadcastShapes(op, a.shape, b.shape) }), consts);
}
export const equal = (a: Tensor | number, b: Tensor | number): Tensor => compare('eq', a, b);
export const notEqual = (a: Tensor | number, b: Tensor | number): Tensor => compare('ne', a, b);
export const less = (a: Tensor | number, b: Tensor | number): Tensor => compare('lt', a, b);
export const lessEqual = (a: Tensor | number, b: Tensor | number): Tensor => compare('le', a, b);
export const greater = (a: Tensor | number, b: Tensor | number): Tensor => compare('gt', a, b);
export const greaterEqual = (a: Tensor | number, b: Tensor | number): Tensor => compare('ge', a, b);

/** `cond ? a : b` elementwise with broadcasting. `cond` must be bool; numbers take the other operand's dtype. */
export function where(cond: Tensor, x: Tensor | number, y: Tensor | number): Tensor {
  if (cond.dtype !== 'bool') throw new DTypeError('where', `condition must be bool, got ${cond.dtype}`);
  const like = x instanceof Object ? x : y instanceof Object ? y : undefined;
  const [a, b, consts] = operands('where', x, y, like);
  checkDTypes('where', a, b, true);
  const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, a.shape), b.shape);
  return finish(record('where', [cond, a, b], kernel('where', 'where', [cond, a, b], { shape }), undefined), consts);
}
registerGradient(
  'where',
  (dy, { inputs: [cond, a, b] }) => [
    null,
    () => unbroadcast(where(cond, dy, 0), a.shape),
    () => unbroadcast(where(cond, 0, dy), b.shape),
  ],
  () => ({ inputs: [true, false, false] }),
);

/** Fill positions where `mask` is true with `value` (torch's masked_fill). */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  return where(mask, value, x);
}

/**
 * Convert dtype. Float → float keeps the gradient (a cast to the dtype the tensor already has is the identity, and
 * shares storage); conversions to/from integers are not differentiable.
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) {
    const same = x.shareStorage(x.shape);
    return isFloat(dtype) ? record('cast', [x], same, { from: x.dtype }) : same;
  }
  const out = kernel('cast', 'cast', [x], { dtype });
  return isFloat(x.dtype) && isFloat(dtype) ? record('cast', [x], out, { from: x.dtype }) : out;
}
registerGradient<{ from: DType }>('cast', (dy, { attrs }) => [() => cast(dy, attrs.from)], READS_NOTHING);

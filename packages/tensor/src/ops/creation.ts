import type { Backend } from '../backend.js';
import type { DType } from '../dtype.js';
import { isByteDType, toTyped } from '../dtype.js';
import { getBackend } from '../engine.js';
import { DTypeError, ShapeError } from '../errors.js';
import type { Shape } from '../shape.js';
import { assertValidShape, sizeOf } from '../shape.js';
import type { NestedArray } from '../tensor.js';
import { Tensor } from '../tensor.js';
import { kernel } from './util.js';

export interface CreateOptions {
  dtype?: DType;
  /** Defaults to the active backend. */
  backend?: Backend;
  requiresGrad?: boolean;
}

function flatten(
  values: NestedArray | boolean | readonly unknown[],
  shape: number[],
  out: (number | boolean)[],
  depth = 0,
): void {
  if (Array.isArray(values)) {
    if (shape.length === depth) shape.push(values.length);
    else if (shape[depth] !== values.length) throw new ShapeError('tensor', 'ragged nested array');
    for (const v of values) flatten(v as NestedArray, shape, out, depth + 1);
  } else {
    if (depth !== shape.length && out.length > 0) throw new ShapeError('tensor', 'ragged nested array');
    out.push(values as number | boolean);
  }
}

/**
 * Create a tensor from values: a typed array or flat array with `shape`, or nested arrays (shape inferred).
 * The dtype defaults to the typed array's (Int32Array → i32, Uint8Array → bool) or f32.
 */
export function tensor(
  values: ArrayLike<number | boolean> | NestedArray,
  shape?: readonly number[],
  opts: CreateOptions = {},
): Tensor {
  let flat: ArrayLike<number | boolean>;
  let inferred: number[];
  if (typeof values === 'number' || typeof values === 'boolean') {
    flat = [values];
    inferred = [];
  } else if (Array.isArray(values)) {
    const out: (number | boolean)[] = [];
    inferred = [];
    flatten(values, inferred, out);
    flat = out;
  } else {
    flat = values as ArrayLike<number>;
    inferred = [flat.length];
  }
  const finalShape = shape ? [...shape] : inferred;
  assertValidShape('tensor', finalShape);
  if (sizeOf(finalShape) !== flat.length) {
    throw new ShapeError('tensor', `${flat.length} values do not fill shape [${finalShape.join(', ')}]`);
  }
  const dtype: DType =
    opts.dtype ??
    (values instanceof Int32Array
      ? 'i32'
      : values instanceof Uint8Array
        ? 'bool'
        : values instanceof Int8Array
          ? 'i8'
          : 'f32');
  if (dtype !== 'f32' && dtype !== 'i32' && dtype !== 'bool' && dtype !== 'u8' && dtype !== 'i8')
    throw new DTypeError('tensor', `unsupported dtype '${dtype}'`);
  if (isByteDType(dtype) && opts.requiresGrad) throw new DTypeError('tensor', `${dtype} tensors cannot require grad`);
  const t = Tensor.fromValues(opts.backend ?? getBackend(), toTyped(dtype, flat), finalShape, dtype);
  t.requiresGrad = opts.requiresGrad ?? false;
  return t;
}

/** A tensor of `shape` filled with `value`. */
export function full(shape: Shape, value: number, opts: CreateOptions = {}): Tensor {
  assertValidShape('full', shape);
  const dtype = opts.dtype ?? 'f32';
  const t = kernel('full', 'fill', [], { shape: [...shape], dtype, value }, opts.backend ?? getBackend());
  t.requiresGrad = opts.requiresGrad ?? false;
  return t;
}

export const zeros = (shape: Shape, opts?: CreateOptions): Tensor => full(shape, 0, opts);
export const ones = (shape: Shape, opts?: CreateOptions): Tensor => full(shape, 1, opts);
export const scalar = (value: number, opts?: CreateOptions): Tensor => full([], value, opts);

export const zerosLike = (t: Tensor): Tensor => full(t.shape, 0, { dtype: t.dtype, backend: t.backend });
export const onesLike = (t: Tensor): Tensor => full(t.shape, 1, { dtype: t.dtype, backend: t.backend });

/**
 * [start, start + step, …) below `end`. The dtype defaults to i32 when start, end and step are all integers and to
 * f32 otherwise (as PyTorch infers it), unless `dtype` says otherwise.
 */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  if (step === 0) throw new ShapeError('arange', 'step must not be 0');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const values = Array.from({ length: n }, (_, i) => start + i * step);
  const integral = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  return tensor(values, [n], { dtype: opts.dtype ?? (integral ? 'i32' : 'f32'), backend: opts.backend });
}

/** Copy a tensor to another backend (an async readback, then an upload). */
export async function toBackend(t: Tensor, backend: Backend): Promise<Tensor> {
  if (t.backend === backend) return t.detach();
  return Tensor.fromValues(backend, await t.data(), t.shape, t.dtype);
}

import { composite, record, registerGradient } from '../autograd.js';
import { DTypeError, ShapeError } from '../errors.js';
import { assertValidShape, broadcastShapes, normAxis, shapesEqual, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { unbroadcast } from './elementwise.js';
import { kernel } from './util.js';

/** Same values in a new shape (one dimension may be -1). Shares storage: no copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const out = [...shape];
  const infer = out.indexOf(-1);
  if (infer >= 0) {
    if (out.indexOf(-1, infer + 1) >= 0)
      throw new ShapeError('reshape', 'only one dimension may be -1', [x.shape, shape]);
    const known = sizeOf(out.filter((_, i) => i !== infer));
    if (known === 0 || x.size % known !== 0)
      throw new ShapeError('reshape', 'cannot infer the -1 dimension', [x.shape, shape]);
    out[infer] = x.size / known;
  }
  assertValidShape('reshape', out);
  if (sizeOf(out) !== x.size) throw new ShapeError('reshape', `size ${x.size} does not fit`, [x.shape, shape]);
  return record('reshape', [x], x.shareStorage(out), undefined);
}
registerGradient(
  'reshape',
  (dy, { inputs: [x] }) => [() => reshape(dy, x.shape)],
  () => ({}),
);

export const flatten = (x: Tensor, startDim = 0): Tensor => {
  const s = normAxis('flatten', startDim, Math.max(x.rank, 1));
  return reshape(x, [...x.shape.slice(0, s), -1]);
};
export const unsqueeze = (x: Tensor, axis: number): Tensor => {
  const a = normAxis('unsqueeze', axis, x.rank + 1);
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
};
export const squeeze = (x: Tensor, axis: number): Tensor => {
  const a = normAxis('squeeze', axis, x.rank);
  if (x.shape[a] !== 1) throw new ShapeError('squeeze', `axis ${axis} has length ${x.shape[a]}, not 1`, [x.shape]);
  return reshape(
    x,
    x.shape.filter((_, i) => i !== a),
  );
};

/** Reorder axes: out.shape[i] = x.shape[perm[i]]. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const p = perm.map((a) => normAxis('permute', a, x.rank));
  if (p.length !== x.rank || new Set(p).size !== p.length) {
    throw new ShapeError('permute', `[${perm.join(', ')}] is not a permutation of ${x.rank} axes`, [x.shape]);
  }
  if (p.every((a, i) => a === i)) return record('permute', [x], x.shareStorage(x.shape), { perm: p });
  return record('permute', [x], kernel('permute', 'transpose', [x], { perm: p }), { perm: p });
}
registerGradient<{ perm: number[] }>(
  'permute',
  (dy, { attrs }) => {
    const inv = new Array<number>(attrs.perm.length);
    attrs.perm.forEach((a, i) => {
      inv[a] = i;
    });
    return [() => permute(dy, inv)];
  },
  () => ({}),
);

/** Swap two axes (the last two by default). */
export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  const a = normAxis('transpose', dim0, x.rank);
  const b = normAxis('transpose', dim1, x.rank);
  const perm = x.shape.map((_, i) => (i === a ? b : i === b ? a : i));
  return permute(x, perm);
}

/** Broadcast to `shape` (-1 keeps a dimension), materialised. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const off = shape.length - x.rank;
  if (shape.some((d, i) => d === -1 && i < off)) {
    throw new ShapeError('expand', '-1 (keep the size) is not allowed in a new leading dimension', [x.shape, shape]);
  }
  const target = shape.map((d, i) => (d === -1 ? x.shape[i - off] : d));
  if (off < 0 || !shapesEqual(broadcastShapes('expand', x.shape, target), target)) {
    throw new ShapeError('expand', 'cannot expand', [x.shape, shape]);
  }
  if (shapesEqual(x.shape, target)) return record('expand', [x], x.shareStorage(target), undefined);
  return record('expand', [x], kernel('expand', 'broadcastTo', [x], { shape: target }), undefined);
}
registerGradient(
  'expand',
  (dy, { inputs: [x] }) => [() => unbroadcast(dy.detach(), x.shape)],
  () => ({}),
);

/**
 * The box starting at `begin` (negative counts from the end) of `size` (-1 or omitted: to the end).
 */
export function slice(x: Tensor, begin: readonly number[], size?: readonly number[]): Tensor {
  if (begin.length > x.rank)
    throw new ShapeError('slice', `begin has ${begin.length} entries for rank ${x.rank}`, [x.shape]);
  const b = x.shape.map((d, i) => {
    const v = begin[i] ?? 0;
    return v < 0 ? v + d : v;
  });
  const s = x.shape.map((d, i) => {
    const v = size?.[i] ?? -1;
    return v === -1 ? d - b[i] : v;
  });
  for (let i = 0; i < x.rank; i++) {
    if (b[i] < 0 || s[i] < 0 || b[i] + s[i] > x.shape[i]) {
      throw new ShapeError('slice', `begin [${b.join(', ')}] size [${s.join(', ')}] out of bounds`, [x.shape]);
    }
  }
  return record('slice', [x], kernel('slice', 'slice', [x], { begin: b, size: s }), { begin: b });
}
registerGradient<{ begin: number[] }>(
  'slice',
  (dy, { inputs: [x], attrs }) => [() => kernel('sliceGrad', 'padSlice', [dy], { shape: x.shape, begin: attrs.begin })],
  () => ({}),
);

/** `length` entries of `axis` from `start`. */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const a = normAxis('narrow', axis, x.rank);
  const begin = x.shape.map((_, i) => (i === a ? start : 0));
  const size = x.shape.map((d, i) => (i === a ? length : d));
  return slice(x, begin, size);
}

/** Split `axis` into `n` equal parts. */
export function chunk(x: Tensor, n: number, axis = -1): Tensor[] {
  const a = normAxis('chunk', axis, x.rank);
  if (x.shape[a] % n !== 0)
    throw new ShapeError('chunk', `axis length ${x.shape[a]} is not divisible by ${n}`, [x.shape]);
  const len = x.shape[a] / n;
  return Array.from({ length: n }, (_, i) => narrow(x, a, i * len, len));
}

/** Join tensors along an existing axis. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ShapeError('concat', 'needs at least one tensor');
  const a = normAxis('concat', axis, xs[0].rank);
  for (const t of xs) {
    if (t.dtype !== xs[0].dtype) throw new DTypeError('concat', `dtypes differ: ${xs[0].dtype} and ${t.dtype}`);
    if (t.rank !== xs[0].rank || t.shape.some((d, i) => i !== a && d !== xs[0].shape[i])) {
      throw new ShapeError(
        'concat',
        `shapes differ outside axis ${a}`,
        xs.map((x) => x.shape),
      );
    }
  }
  return record('concat', xs, kernel('concat', 'concat', xs, { axis: a }), { axis: a });
}
registerGradient<{ axis: number }>(
  'concat',
  (dy, { inputs, attrs }) => {
    let offset = 0;
    return inputs.map((t) => {
      const start = offset;
      offset += t.shape[attrs.axis];
      return () => narrow(dy, attrs.axis, start, t.shape[attrs.axis]);
    });
  },
  () => ({}),
);

/** Join tensors along a new axis. */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ShapeError('stack', 'needs at least one tensor');
  const a = normAxis('stack', axis, xs[0].rank + 1);
  return composite(() =>
    concat(
      xs.map((t) => unsqueeze(t, a)),
      a,
    ),
  );
}

/**
 * Select entries along `axis` by i32 `indices` (any shape, which replaces that axis in the output).
 * The gradient scatter-adds into the source.
 */
export function gather(x: Tensor, indices: Tensor, axis = 0): Tensor {
  if (indices.dtype !== 'i32') throw new DTypeError('gather', `indices must be i32, got ${indices.dtype}`);
  const a = normAxis('gather', axis, x.rank);
  return record('gather', [x, indices], kernel('gather', 'gather', [x, indices], { axis: a }), { axis: a });
}
registerGradient<{ axis: number }>(
  'gather',
  (dy, { inputs: [x, indices], attrs }) => [
    () => kernel('gatherGrad', 'scatterAdd', [dy, indices], { axis: attrs.axis, shape: x.shape }),
    null,
  ],
  () => ({ inputs: [false, true] }),
);

/** Rows of an embedding table [V, D] for i32 ids of any shape → [...ids.shape, D]. */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  if (weight.rank !== 2) throw new ShapeError('embedding', 'weight must be [vocab, dim]', [weight.shape]);
  return gather(weight, ids, 0);
}

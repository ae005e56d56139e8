import { composite, record, registerGradient } from '../autograd.js';
import { DTypeError } from '../errors.js';
import type { ReduceOp } from '../kernels.js';
import { normAxes, normAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { cast, div, equal, mul } from './elementwise.js';
import { expand, reshape } from './shape.js';
import { kernel } from './util.js';

interface ReduceAttrs {
  axes: number[];
  keepdim: boolean;
}

function keptShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

/** Reduce `axes` one at a time (highest first) with the single-axis kernel. */
function reduceRaw(op: ReduceOp, x: Tensor, axes: readonly number[], keepdim: boolean): Tensor {
  let cur = x;
  for (const axis of [...axes].reverse()) {
    const next = kernel(op, 'reduce', [cur], { op, axis });
    if (cur !== x) cur.dispose();
    cur = next;
  }
  if (cur === x) cur = x.detach();
  if (keepdim) return cur;
  const out = reshape(
    cur,
    x.shape.filter((_, i) => !axes.includes(i)),
  );
  cur.dispose();
  return out;
}

function reduce(op: ReduceOp, x: Tensor, axesIn: number | readonly number[] | undefined, keepdim: boolean): Tensor {
  if (x.dtype === 'bool') throw new DTypeError(op, 'does not accept bool tensors; cast them first');
  const axes = normAxes(op, axesIn, x.rank);
  return record<ReduceAttrs>(op, [x], reduceRaw(op, x, axes, keepdim), { axes, keepdim });
}

/** Sum over `axes` (all by default). */
export const sum = (x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor =>
  reduce('sum', x, axes, keepdim);
/** Maximum over `axes`; the gradient is shared equally between tied maxima. */
export const max = (x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor =>
  reduce('max', x, axes, keepdim);
/** Minimum over `axes`; the gradient is shared equally between tied minima. */
export const min = (x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor =>
  reduce('min', x, axes, keepdim);

/** Mean over `axes` (all by default). f32 only: an integer mean would truncate (PyTorch refuses it too). */
export function mean(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  if (x.dtype !== 'f32') throw new DTypeError('mean', `expects an f32 tensor, got ${x.dtype}; cast it first`);
  const ax = normAxes('mean', axes, x.rank);
  const count = ax.reduce((n, a) => n * x.shape[a], 1);
  return composite(() => div(sum(x, ax, keepdim), count));
}

/** Index of the first maximum along `axis` (i32). */
export function argmax(x: Tensor, axis = -1, keepdim = false): Tensor {
  const a = normAxis('argmax', axis, x.rank);
  const out = kernel('argmax', 'argmax', [x], { axis: a });
  if (keepdim) return out;
  const r = reshape(
    out,
    x.shape.filter((_, i) => i !== a),
  );
  out.dispose();
  return r;
}

registerGradient<ReduceAttrs>(
  'sum',
  (dy, { inputs: [x], attrs }) => [() => expand(reshape(dy, keptShape(x.shape, attrs.axes)), x.shape)],
  () => ({}),
);
const extremumGrad = (
  dy: Tensor,
  { inputs: [x], output, attrs }: { inputs: readonly Tensor[]; output: Tensor; attrs: ReduceAttrs },
) => [
  () => {
    const kept = keptShape(x.shape, attrs.axes);
    const hit = cast(equal(x, reshape(output, kept)), 'f32');
    const ties = reduceRaw('sum', hit, attrs.axes, true);
    return mul(hit, div(reshape(dy, kept), ties));
  },
];
registerGradient('max', extremumGrad);
registerGradient('min', extremumGrad);

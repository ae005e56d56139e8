import { composite } from '../autograd.js';
import { DTypeError, ShapeError } from '../errors.js';
import { sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { arange } from './creation.js';
import { add } from './elementwise.js';
import { gather, reshape } from './shape.js';
import { kernel } from './util.js';

/** What {@link topk} returns. */
export interface TopK {
  /** The k largest entries of each row, best first (differentiable: the gradient flows to those entries). */
  values: Tensor;
  /** Their positions along the last axis (i32). */
  indices: Tensor;
}

/**
 * The `k` largest entries along the last axis, best first, and their indices (`torch.topk(x, k, dim=-1)`).
 * A NaN ranks above every number (as in PyTorch); equal values are ordered by index, smaller first. The gradient
 * flows to the selected entries only.
 */
export function topk(x: Tensor, k: number): TopK {
  if (x.dtype !== 'f32') throw new DTypeError('topk', `expects an f32 tensor, got ${x.dtype}`);
  if (x.rank === 0) throw new ShapeError('topk', 'needs a tensor of rank >= 1', [x.shape]);
  const n = x.shape[x.rank - 1];
  if (!Number.isInteger(k) || k < 0 || k > n) {
    throw new ShapeError('topk', `k must be an integer in [0, ${n}] (the last axis), got ${k}`, [x.shape]);
  }
  const indices = kernel('topk', 'topk', [x], { k });
  const values = composite(() => {
    // Gather from the flattened rows: flat index = row · n + index.
    const rows = sizeOf(x.shape.slice(0, -1));
    const offsets = reshape(arange(0, rows * n, n, { dtype: 'i32', backend: x.backend }), [rows, 1]);
    const flat = add(reshape(indices, [rows, k]), offsets);
    return reshape(gather(reshape(x, [-1]), flat, 0), indices.shape);
  });
  return { values, indices };
}

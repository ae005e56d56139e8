import { record, registerGradient } from '../autograd.js';
import { noGrad } from '../engine.js';
import { DTypeError, ShapeError } from '../errors.js';
import { broadcastShapes, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { unbroadcast } from './elementwise.js';
import { expand, reshape } from './shape.js';
import { kernel } from './util.js';

export interface MatmulOptions {
  /** Use aᵀ (swap a's last two axes). */
  transA?: boolean;
  /** Use bᵀ (swap b's last two axes): `matmul(x, weight, { transB: true })` is a Linear layer. */
  transB?: boolean;
}

interface MatmulAttrs {
  transA: boolean;
  transB: boolean;
}

/**
 * Batched matrix product over the last two axes, with numpy broadcasting of the batch axes and transpose flags
 * (no transposed copy is made).
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  if (a.dtype !== 'f32' || b.dtype !== 'f32')
    throw new DTypeError('matmul', `expects f32 inputs, got ${a.dtype} and ${b.dtype}`);
  if (a.rank < 2 || b.rank < 2)
    throw new ShapeError('matmul', 'inputs must have rank >= 2 (reshape vectors)', [a.shape, b.shape]);
  const [m, ka] = transA ? [a.shape[a.rank - 1], a.shape[a.rank - 2]] : [a.shape[a.rank - 2], a.shape[a.rank - 1]];
  const [kb, n] = transB ? [b.shape[b.rank - 1], b.shape[b.rank - 2]] : [b.shape[b.rank - 2], b.shape[b.rank - 1]];
  if (ka !== kb) throw new ShapeError('matmul', `inner dimensions differ (${ka} vs ${kb})`, [a.shape, b.shape]);
  const raw = noGrad(() => matmulRaw(a, b, transA, transB, m, n));
  return record<MatmulAttrs>('matmul', [a, b], raw, { transA, transB });
}

function matmulRaw(a: Tensor, b: Tensor, transA: boolean, transB: boolean, m: number, n: number): Tensor {
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const batch = broadcastShapes('matmul', batchA, batchB);
  const outShape = [...batch, m, n];
  // A batch of rows times one matrix is a single big matmul: fold the batch into M (no copy).
  if (!transA && sizeOf(batchB) === 1 && a.rank > 2) {
    const a3 = reshape(a, [1, sizeOf(batchA) * m, a.shape[a.rank - 1]]);
    const b3 = reshape(b, [1, b.shape[b.rank - 2], b.shape[b.rank - 1]]);
    const c = kernel('matmul', 'matmul', [a3, b3], { transA, transB });
    a3.dispose();
    b3.dispose();
    const r = reshape(c, outShape);
    c.dispose();
    return r;
  }
  const bs = sizeOf(batch);
  const as3 = (t: Tensor, tb: readonly number[]) => {
    const rows = t.shape[t.rank - 2];
    const cols = t.shape[t.rank - 1];
    const tbs = sizeOf(tb);
    if (tbs === bs || tbs === 1) return reshape(t, [tbs, rows, cols]);
    const e = expand(t, [...batch, rows, cols]);
    const r = reshape(e, [bs, rows, cols]);
    e.dispose();
    return r;
  };
  const a3 = as3(a, batchA);
  const b3 = as3(b, batchB);
  const c = kernel('matmul', 'matmul', [a3, b3], { transA, transB });
  a3.dispose();
  b3.dispose();
  const r = reshape(c, outShape);
  c.dispose();
  return r;
}

registerGradient<MatmulAttrs>(
  'matmul',
  (dy, { inputs: [a, b], attrs: { transA, transB } }) => [
    () =>
      unbroadcast(
        transA ? matmul(b, dy, { transA: transB, transB: true }) : matmul(dy, b, { transB: !transB }),
        a.shape,
      ),
    () => {
      // A shared 2-D weight: fold the batch of `a` and `dy` into one [K, M·B]×[M·B, N] product.
      if (b.rank === 2 && a.rank > 2 && !transA) {
        const a2 = reshape(a, [-1, a.shape[a.rank - 1]]);
        const d2 = reshape(dy, [-1, dy.shape[dy.rank - 1]]);
        return transB ? matmul(d2, a2, { transA: true }) : matmul(a2, d2, { transA: true });
      }
      return unbroadcast(
        transB ? matmul(dy, a, { transA: true, transB: transA }) : matmul(a, dy, { transA: !transA }),
        b.shape,
      );
    },
  ],
  ([ta, tb]) => ({ inputs: [tb, ta] }),
);

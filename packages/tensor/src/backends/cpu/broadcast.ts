import type { Shape } from '../../shape.js';
import { broadcastStrides, sizeOf } from '../../shape.js';

/**
 * Visit every element of an output of `outShape` together with the matching flat offsets of inputs broadcast to
 * it. The innermost axis is a tight loop: `row(outStart, n, offsets, innerStrides)`.
 */
export function forEachBroadcastRow(
  outShape: Shape,
  inShapes: readonly Shape[],
  row: (outStart: number, n: number, offsets: number[], innerStrides: number[]) => void,
): void {
  const rank = outShape.length;
  const strides = inShapes.map((s) => broadcastStrides(s, outShape));
  if (rank === 0) {
    row(
      0,
      1,
      inShapes.map(() => 0),
      inShapes.map(() => 0),
    );
    return;
  }
  const n = outShape[rank - 1];
  const inner = strides.map((s) => s[rank - 1]);
  const rows = sizeOf(outShape) / Math.max(n, 1);
  if (n === 0 || rows === 0) return;
  const idx = new Array<number>(rank - 1).fill(0);
  const offsets = inShapes.map(() => 0);
  for (let r = 0; r < rows; r++) {
    row(r * n, n, offsets, inner);
    // advance the multi-index over the outer axes, updating offsets incrementally
    for (let ax = rank - 2; ax >= 0; ax--) {
      idx[ax]++;
      for (let k = 0; k < offsets.length; k++) offsets[k] += strides[k][ax];
      if (idx[ax] < outShape[ax]) break;
      for (let k = 0; k < offsets.length; k++) offsets[k] -= strides[k][ax] * outShape[ax];
      idx[ax] = 0;
    }
  }
}

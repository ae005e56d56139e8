import type { Shape } from '../../shape.js';
import { broadcastStrides, sizeOf } from '../../shape.js';

/**
 * The output shape and input strides of a broadcast with adjacent axes merged wherever every input steps through
 * them the same way (all contiguous across the pair, or all broadcast over it). [B, H, T, T] against [1, 1, T, T]
 * becomes [B·H, T·T]: fewer, longer rows, so the per-row overhead stops dominating small trailing axes.
 */
export function collapseBroadcast(
  outShape: Shape,
  inShapes: readonly Shape[],
): { shape: number[]; strides: number[][] } {
  const full = inShapes.map((s) => broadcastStrides(s, outShape));
  const shape: number[] = [];
  const strides: number[][] = inShapes.map(() => []);
  for (let ax = 0; ax < outShape.length; ax++) {
    const d = outShape[ax];
    if (d === 1) continue; // a length-1 axis steps nowhere
    const last = shape.length - 1;
    // merge into the previous kept axis when, for every input, stride[prev] = stride[ax] · d
    if (last >= 0 && full.every((s, k) => strides[k][last] === s[ax] * d)) {
      shape[last] *= d;
      for (let k = 0; k < full.length; k++) strides[k][last] = full[k][ax];
    } else {
      shape.push(d);
      for (let k = 0; k < full.length; k++) strides[k].push(full[k][ax]);
    }
  }
  return { shape, strides };
}

/**
 * Visit every element of an output of `outShape` together with the matching flat offsets of inputs broadcast to
 * it. The innermost (collapsed) axis is a tight loop: `row(outStart, n, offsets, innerStrides)`.
 */
export function forEachBroadcastRow(
  outShape: Shape,
  inShapes: readonly Shape[],
  row: (outStart: number, n: number, offsets: number[], innerStrides: number[]) => void,
): void {
  if (sizeOf(outShape) === 0) return;
  const { shape, strides } = collapseBroadcast(outShape, inShapes);
  const rank = shape.length;
  if (rank === 0) {
    row(
      0,
      1,
      inShapes.map(() => 0),
      inShapes.map(() => 0),
    );
    return;
  }
  const n = shape[rank - 1];
  const inner = strides.map((s) => s[rank - 1]);
  const rows = sizeOf(shape) / n;
  const idx = new Array<number>(rank - 1).fill(0);
  const offsets = inShapes.map(() => 0);
  for (let r = 0; r < rows; r++) {
    row(r * n, n, offsets, inner);
    // advance the multi-index over the outer axes, updating offsets incrementally
    for (let ax = rank - 2; ax >= 0; ax--) {
      idx[ax]++;
      for (let k = 0; k < offsets.length; k++) offsets[k] += strides[k][ax];
      if (idx[ax] < shape[ax]) break;
      for (let k = 0; k < offsets.length; k++) offsets[k] -= strides[k][ax] * shape[ax];
      idx[ax] = 0;
    }
  }
}

import type { TypedArray } from '../../dtype.js';
import type { Shape } from '../../shape.js';
import { sizeOf, stridesOf } from '../../shape.js';

/** Copy a box of `size` from `src` (at `srcBegin`) to `dst` (at `dstBegin`), a contiguous row at a time. */
export function copyBox(
  src: TypedArray,
  srcShape: Shape,
  srcBegin: readonly number[],
  dst: TypedArray,
  dstShape: Shape,
  dstBegin: readonly number[],
  size: readonly number[],
): void {
  const rank = size.length;
  if (sizeOf(size) === 0) return;
  if (rank === 0) {
    dst[0] = src[0];
    return;
  }
  const ss = stridesOf(srcShape);
  const ds = stridesOf(dstShape);
  const n = size[rank - 1];
  let so = 0;
  let d0 = 0;
  for (let i = 0; i < rank; i++) {
    so += srcBegin[i] * ss[i];
    d0 += dstBegin[i] * ds[i];
  }
  const idx = new Array<number>(rank).fill(0);
  const rows = sizeOf(size) / n;
  for (let r = 0; r < rows; r++) {
    dst.set(src.subarray(so, so + n), d0);
    for (let ax = rank - 2; ax >= 0; ax--) {
      idx[ax]++;
      so += ss[ax];
      d0 += ds[ax];
      if (idx[ax] < size[ax]) break;
      so -= ss[ax] * size[ax];
      d0 -= ds[ax] * size[ax];
      idx[ax] = 0;
    }
  }
}

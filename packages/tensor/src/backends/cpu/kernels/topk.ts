import { sizeOf } from '../../../shape.js';
import { cpuKernel } from '../kernel.js';

/**
 * The k best entries of each row (last axis), best first: NaN above every number, then the larger value, then the
 * smaller index. k selection passes per row, each taking the best entry ranked below the previous pick, so no
 * per-row scratch is needed (k is small where this is used: VB-LoRA's top-k over a vector bank).
 */
export const topk = cpuKernel('topk', (be, [x], { k }) => {
  const xv = be.values(x);
  const n = x.shape[x.shape.length - 1] ?? 1;
  const rows = sizeOf(x.shape.slice(0, -1));
  const { out, values } = be.output<Int32Array>([...x.shape.slice(0, -1), k], 'i32');
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    let prevV = Number.NaN;
    let prevI = -1;
    for (let j = 0; j < k; j++) {
      let bestV = 0;
      let bestI = -1;
      for (let c = 0; c < n; c++) {
        const v = xv[base + c];
        if (prevI >= 0 && !ranksBelow(v, c, prevV, prevI)) continue;
        if (bestI < 0 || ranksBelow(bestV, bestI, v, c)) {
          bestV = v;
          bestI = c;
        }
      }
      values[r * k + j] = bestI;
      prevV = bestV;
      prevI = bestI;
    }
  }
  return out;
});

/** Whether entry (v, i) ranks below entry (w, j): NaN first, then the larger value, then the smaller index. */
function ranksBelow(v: number, i: number, w: number, j: number): boolean {
  const vn = Number.isNaN(v);
  const wn = Number.isNaN(w);
  if (vn !== wn) return wn;
  if (!vn && v !== w) return v < w;
  return i > j;
}

import { cpuKernel } from '../kernel.js';

/** acc + Σx², rounded as add(acc, sum(square(x))): f32 squares, then each axis (last first) summed in f64 and rounded. */
export const sumSquares = cpuKernel('sumSquares', (be, inputs) => {
  const [x, acc] = inputs;
  const xv = be.values(x);
  let cur = new Float32Array(xv.length);
  for (let i = 0; i < xv.length; i++) cur[i] = xv[i] * xv[i];
  // the reduce kernel's order: the highest axis first; the axes after it are already 1, so rows are contiguous
  for (let axis = x.shape.length - 1; axis >= 0; axis--) {
    const n = x.shape[axis];
    const rows = cur.length / Math.max(n, 1);
    const next = new Float32Array(n === 0 ? cur.length : rows);
    if (n > 0) {
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += cur[r * n + k];
        next[r] = s;
      }
    }
    cur = next;
  }
  const { out, values } = be.output([1], 'f32', false);
  const s = cur.length ? cur[0] : 0;
  values[0] = acc ? be.values(acc)[0] + s : s;
  return out;
});

import type { TensorInfo } from '../../../kernels.js';
import type { CpuBackend } from '../backend.js';
import { cpuKernel } from '../kernel.js';

/** Σx² rounded as sum(square(x)): f32 squares, then each axis (last first) summed in float64 and rounded to f32. */
function sumOfSquares(be: CpuBackend, x: TensorInfo): number {
  const xv = be.values(x);
  let cur = new Float32Array(xv.length);
  for (let i = 0; i < xv.length; i++) cur[i] = xv[i] * xv[i];
  // the reduce kernel's order: the highest axis first; the axes after it are already 1, so rows are contiguous
  for (let axis = x.shape.length - 1; axis >= 0 && cur.length > 0; axis--) {
    const n = x.shape[axis];
    const rows = cur.length / n;
    const next = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += cur[r * n + k];
      next[r] = s;
    }
    cur = next;
  }
  return cur.length ? cur[0] : 0;
}

/** acc + Σⱼ Σxⱼ², each x's sum added to the running f32 total in order (as chained add(acc, sum(square(x)))). */
export const sumSquares = cpuKernel('sumSquares', (be, inputs, a) => {
  const xs = a.acc ? inputs.slice(0, -1) : inputs;
  const { out, values } = be.output([1], 'f32', false);
  let total: number | null = a.acc ? be.values(inputs[inputs.length - 1])[0] : null;
  for (const x of xs) {
    const s = sumOfSquares(be, x);
    total = total === null ? s : Math.fround(total + s);
  }
  values[0] = total ?? 0;
  return out;
});

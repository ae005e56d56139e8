import { cpuKernel } from '../kernel.js';
import { sizeOf } from '../../../shape.js';

export const argmax = cpuKernel('argmax', (be, [x], { axis }) => {
  const xv = be.values(x);
  const outer = sizeOf(x.shape.slice(0, axis));
  const n = x.shape[axis];
  const inner = sizeOf(x.shape.slice(axis + 1));
  const { out, values } = be.output<Int32Array>(
    x.shape.map((d, i) => (i === axis ? 1 : d)),
    'i32',
  );
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let best = -Infinity;
      let arg = 0;
      for (let k = 0; k < n; k++) {
        const v = xv[(o * n + k) * inner + i];
        if (v > best) {
          best = v;
          arg = k;
        } else if (Number.isNaN(v)) {
          // NaN counts as the maximum (PyTorch), consistent with max() propagating it
          arg = k;
          break;
        }
      }
      values[o * inner + i] = arg;
    }
  }
  return out;
});

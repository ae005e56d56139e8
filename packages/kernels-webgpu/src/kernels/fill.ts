import { webgpuKernel } from '../kernel.js';
import { fillBits, valueBits } from '../programs/fill.js';

/** A new tensor filled with `value` (its 32-bit pattern in the dtype's storage: bool is u32 0/1). */
export const fill = webgpuKernel('fill', (be, _inputs, { shape, dtype, value }) => {
  // byte-storage dtypes never reach a fill (the op layer refuses them)
  const out = be.output(shape, dtype, 'fill');
  fillBits(be, out.dataId, out.dataId.size, valueBits(value, dtype as 'f32' | 'i32' | 'bool'));
  return out;
});

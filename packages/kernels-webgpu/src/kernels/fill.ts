import { webgpuKernel } from '../kernel.js';
import { fillBits, valueBits } from '../programs/fill.js';

/** Up to this many elements a fill is written from the host (queue.writeBuffer) instead of dispatched. */
const HOST_FILL_MAX = 1024;

/**
 * A new tensor filled with `value` (its 32-bit pattern in the dtype's storage: bool is u32 0/1). Small fills — the
 * scalars of `x * 0.5`, the optimizer's constants — are queue writes, not dispatches: a freshly acquired buffer is
 * referenced by no command still in the open encoder, and queue writes are ordered after submitted work.
 */
export const fill = webgpuKernel('fill', (be, _inputs, { shape, dtype, value }) => {
  // byte-storage dtypes never reach a fill (the op layer refuses them)
  const out = be.output(shape, dtype, 'fill');
  const n = out.dataId.size;
  const bits = valueBits(value, dtype as 'f32' | 'i32' | 'bool');
  if (n > 0 && n <= HOST_FILL_MAX) {
    const words = new Uint32Array(n).fill(bits >>> 0);
    be.device.queue.writeBuffer(out.dataId.buffer!, 0, words.buffer, 0, n * 4);
    return out;
  }
  fillBits(be, out.dataId, n, bits);
  return out;
});

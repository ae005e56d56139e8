import type { GPUData, WebGPUBackend } from '../backend.js';
import { grid1D, mainElementwise, type Program } from '../program.js';

const FILL: Program = {
  kernel: 'fill',
  key: 'fill:u32',
  uniforms: [
    ['n', 'u32'],
    ['bits', 'u32'],
  ],
  inputs: [],
  outputs: [{ name: 'out', type: 'u32' }],
  source: () => mainElementwise('  out[i] = u.bits;'),
};

/** Write the 32-bit pattern `bits` into the first `n` words of `out` (any dtype: the caller chose the bits). */
export function fillBits(be: WebGPUBackend, out: GPUData, n: number, bits: number, kernel = 'fill'): void {
  if (n === 0) return;
  be.dispatch({ ...FILL, kernel }, [], [out], [n, bits >>> 0], grid1D(n));
}

const scratch = new DataView(new ArrayBuffer(4));
/** The bits a value takes in a dtype's 32-bit storage (f32 rounding, i32 wrap-around as Int32Array, bool 0/1). */
export function valueBits(value: number, dtype: 'f32' | 'i32' | 'bool'): number {
  if (dtype === 'bool') return value ? 1 : 0;
  if (dtype === 'i32') {
    scratch.setInt32(0, value | 0, true); // ToInt32, as Int32Array.fill does
    return scratch.getUint32(0, true);
  }
  scratch.setFloat32(0, value, true);
  return scratch.getUint32(0, true);
}

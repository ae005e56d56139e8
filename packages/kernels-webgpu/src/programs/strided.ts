import { sizeOf } from '@peftjs/tensor';
import type { GPUData, WebGPUBackend } from '../backend.js';
import { collapseDims, grid1D, mainElementwise, type Program, stridedIndexing, stridedValues } from '../program.js';

/**
 * out[i] = x[base + Σ coord_d(i) · strides[d]] for every element of `outShape`: the gather behind transpose,
 * broadcastTo and slice. Copies 32-bit words, so it serves every dtype. Dimensions are collapsed first, so the
 * common cases run at rank 1–3.
 */
export function copyStrided(
  be: WebGPUBackend,
  kernel: string,
  x: GPUData,
  out: GPUData,
  outShape: readonly number[],
  strides: readonly number[],
  base: number,
): void {
  const n = sizeOf(outShape);
  if (n === 0) return;
  const c = collapseDims(outShape, [strides]);
  const rank = c.shape.length;
  const { fields, code } = stridedIndexing(rank, ['x']);
  const program: Program = {
    kernel,
    key: `copyStrided:r${rank}`,
    uniforms: [['n', 'u32'], ['base', 'u32'], ...fields],
    inputs: [{ name: 'x', type: 'u32' }],
    outputs: [{ name: 'out', type: 'u32' }],
    source: () => mainElementwise(`${code}\n  out[i] = x[u.base + off_x];`),
  };
  be.dispatch(program, [x], [out], [n, base, ...stridedValues(c.shape, c.strides)], grid1D(n));
}

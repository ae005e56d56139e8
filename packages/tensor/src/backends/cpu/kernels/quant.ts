import type { Quant4bitLayout, TensorInfo } from '../../../kernels.js';
import { sizeOf } from '../../../shape.js';
import type { CpuBackend } from '../backend.js';
import { gemm } from '../gemm.js';
import { cpuKernel } from '../kernel.js';

/** Block scales as float32: as stored, or dequantized from their 8-bit codes (dyn[q] · nestedAbsmax + offset). */
function blockScales(be: CpuBackend, l: Quant4bitLayout, absmax: TensorInfo, nestedAbsmax?: TensorInfo): Float32Array {
  if (!l.nested) return be.values<Float32Array>(absmax);
  const codes = be.values<Uint8Array>(absmax);
  const nested = be.values<Float32Array>(nestedAbsmax as TensorInfo);
  const code = Float32Array.from(l.nested.code);
  const bs = l.nested.blocksize;
  const offset = Math.fround(l.nested.offset);
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = Math.fround(code[codes[i]] * nested[(i / bs) | 0]) + offset;
  return out;
}

/** Dequantize a 4-bit weight into `out` (float32, row-major), exactly as bitsandbytes. */
function dequant4(
  be: CpuBackend,
  l: Quant4bitLayout,
  inputs: readonly (TensorInfo | undefined)[],
  out: Float32Array,
): void {
  const [packedInfo, absmax, nestedAbsmax] = inputs as [TensorInfo, TensorInfo, TensorInfo | undefined];
  const packed = be.values<Uint8Array>(packedInfo);
  const scales = blockScales(be, l, absmax, nestedAbsmax);
  const code = Float32Array.from(l.code);
  const bs = l.blocksize;
  const n = out.length;
  // Block sizes are even, so every block starts on a byte boundary: two values per byte, high nibble first.
  for (let b = 0, start = 0; start < n; b++, start += bs) {
    const s = scales[b];
    const end = Math.min(n, start + bs);
    let i = start;
    for (; i + 1 < end; i += 2) {
      const byte = packed[i >> 1];
      out[i] = code[byte >> 4] * s;
      out[i + 1] = code[byte & 15] * s;
    }
    if (i < end) out[i] = code[packed[i >> 1] >> 4] * s;
  }
}

function dequant8(be: CpuBackend, weight: TensorInfo, scb: TensorInfo, out: Float32Array): void {
  const w = be.values<Int8Array>(weight);
  const s = be.values<Float32Array>(scb);
  const cols = weight.shape[1];
  for (let r = 0; r < weight.shape[0]; r++) {
    const sr = s[r];
    for (let c = r * cols; c < (r + 1) * cols; c++) out[c] = Math.fround(w[c] * sr) / 127;
  }
}

export const dequantize4bit = cpuKernel('dequantize4bit', (be, inputs, layout) => {
  const { out, values } = be.output<Float32Array>(layout.shape, 'f32');
  dequant4(be, layout, inputs, values);
  return out;
});

/** y = x · op(W): the dense W is a temporary of this call only. */
function product(be: CpuBackend, x: TensorInfo, w: Float32Array, rows: number, cols: number, transW: boolean) {
  const m = x.shape[0];
  const [k, n] = transW ? [cols, rows] : [rows, cols];
  const { out, values } = be.output<Float32Array>([m, n], 'f32');
  gemm(be.values<Float32Array>(x), w, values, m, n, k, false, transW);
  return out;
}

export const matmul4bit = cpuKernel('matmul4bit', (be, [x, ...parts], attrs) => {
  const dense = new Float32Array(sizeOf(attrs.shape));
  dequant4(be, attrs, parts, dense);
  return product(be, x, dense, attrs.shape[0], attrs.shape[1], attrs.transW);
});

export const dequantizeInt8 = cpuKernel('dequantizeInt8', (be, [weight, scb]) => {
  const { out, values } = be.output<Float32Array>(weight.shape, 'f32');
  dequant8(be, weight, scb, values);
  return out;
});

export const matmulInt8 = cpuKernel('matmulInt8', (be, [x, weight, scb], { transW }) => {
  const dense = new Float32Array(sizeOf(weight.shape));
  dequant8(be, weight, scb, dense);
  return product(be, x, dense, weight.shape[0], weight.shape[1], transW);
});

import type { KernelOutput, Quant4bitLayout, TensorInfo } from '@peftjs/tensor';
import type { GPUData, WebGPUBackend } from '../backend.js';
import { gpu, webgpuKernel } from '../kernel.js';
import { grid1D, MAX_GROUPS } from '../program.js';
import { dequantProgram, QTILE, quantMatmulProgram, quantMatmulSmallMProgram, SMALL_M } from '../programs/quant.js';

/**
 * Code books live in one small device buffer per distinct table, made on first use and kept for the backend's
 * lifetime (a few hundred bytes shared by every layer; not a tensor, so not in `memory()`).
 */
const codeBuffers = new WeakMap<WebGPUBackend, Map<string, GPUData>>();

function codesBuffer(be: WebGPUBackend, l: Quant4bitLayout): GPUData {
  const values = l.nested ? [...l.code, ...l.nested.code] : [...l.code];
  const key = values.join(',');
  let byKey = codeBuffers.get(be);
  if (!byKey) {
    byKey = new Map();
    codeBuffers.set(be, byKey);
  }
  let d = byKey.get(key);
  if (!d?.buffer) {
    d = be.upload(Float32Array.from(values), 'f32') as GPUData;
    byKey.set(key, d);
  }
  return d;
}

function fourBitBindings(be: WebGPUBackend, l: Quant4bitLayout, parts: readonly (TensorInfo | undefined)[]): GPUData[] {
  const [packed, absmax, nested] = parts as [TensorInfo, TensorInfo, TensorInfo | undefined];
  const b = [gpu(packed), gpu(absmax)];
  if (l.nested) b.push(gpu(nested as TensorInfo));
  b.push(codesBuffer(be, l));
  return b;
}

const fourBitUniforms = (l: Quant4bitLayout) => [
  l.blocksize,
  l.nested?.blocksize ?? 1,
  l.nested?.offset ?? 0,
  l.shape[1],
];

export const dequantize4bit = webgpuKernel('dequantize4bit', (be, parts, layout) => {
  const out = be.output(layout.shape, 'f32', 'dequantize4bit');
  const n = out.dataId.size;
  if (n === 0) return out;
  const p = dequantProgram('4bit', layout.nested !== null);
  be.dispatch(p, fourBitBindings(be, layout, parts), [out.dataId], [n, ...fourBitUniforms(layout)], grid1D(n));
  return out;
});

export const dequantizeInt8 = webgpuKernel('dequantizeInt8', (be, [weight, scb]) => {
  const out = be.output(weight.shape, 'f32', 'dequantizeInt8');
  const n = out.dataId.size;
  if (n === 0) return out;
  const p = dequantProgram('int8', false);
  be.dispatch(p, [gpu(weight), gpu(scb)], [out.dataId], [n, 1, 1, 0, weight.shape[1]], grid1D(n));
  return out;
});

function fusedProduct(
  be: WebGPUBackend,
  kernel: 'matmul4bit' | 'matmulInt8',
  x: TensorInfo,
  weights: GPUData[],
  wShape: readonly number[],
  transW: boolean,
  nested: boolean,
  weightUniforms: number[],
): KernelOutput {
  const m = x.shape[0];
  const [k, n] = transW ? [wShape[1], wShape[0]] : [wShape[0], wShape[1]];
  const out = be.output([m, n], 'f32', kernel);
  if (m === 0 || n === 0) return out;
  const kind = kernel === 'matmulInt8' ? 'int8' : '4bit';
  if (m <= SMALL_M) {
    const groups = Math.ceil(n / 64);
    if (groups > MAX_GROUPS) throw new RangeError(`${kernel}: ${n} output columns need too many workgroups`);
    const p = quantMatmulSmallMProgram(kind, nested, transW);
    be.dispatch(p, [gpu(x), ...weights], [out.dataId], [m, n, k, ...weightUniforms], [groups, 1, 1]);
    return out;
  }
  const gx = Math.ceil(n / QTILE);
  const gy = Math.ceil(m / QTILE);
  if (gx > MAX_GROUPS || gy > MAX_GROUPS) throw new RangeError(`${kernel}: [${m}×${n}] needs too many tiles`);
  const p = quantMatmulProgram(kind, nested, transW);
  // k = 0 runs no tile step and writes zeros, as an empty sum should be
  be.dispatch(p, [gpu(x), ...weights], [out.dataId], [m, n, k, ...weightUniforms], [gx, gy, 1]);
  return out;
}

export const matmul4bit = webgpuKernel('matmul4bit', (be, [x, ...parts], attrs) =>
  fusedProduct(
    be,
    'matmul4bit',
    x,
    fourBitBindings(be, attrs, parts),
    attrs.shape,
    attrs.transW,
    attrs.nested !== null,
    fourBitUniforms(attrs),
  ),
);

export const matmulInt8 = webgpuKernel('matmulInt8', (be, [x, weight, scb], { transW }) =>
  fusedProduct(be, 'matmulInt8', x, [gpu(weight), gpu(scb)], weight.shape, transW, false, [1, 1, 0, weight.shape[1]]),
);

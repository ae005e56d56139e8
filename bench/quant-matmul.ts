/**
 * Fused dequantize-matmul (`matmul4bit` / `matmulInt8`: the quantized weight is read inside the product, no dense
 * copy) against dequantize-then-matmul (`dequantize4bit` into a dense f32 temporary, then `matmul`), and the dense
 * f32 product for reference, on Linear-layer shapes: y = x·Wᵀ (forward) and dx = dy·W (input gradient).
 *
 *   pnpm build && tsx bench/quant-matmul.ts [--backend cpu|webgpu] [--shapes 16x344x128,128x1024x1024] [--seconds S]
 *
 * A shape MxNxK is x [M, K] and W [N, K] (NF4, blocksize 64, double quantization; and LLM.int8 rows). Each case is
 * warmed up once (pipeline compilation), then run in batches of calls until about --seconds (default 1) have passed;
 * a batch ends with reading the last result back, so the time covers the work, not only its submission. Reported:
 * the median time per call over the batches, and the bytes of the weight each variant holds on the backend while
 * it runs (the fused kernels: the quantized bytes only; unfused: plus the 4·N·K-byte dense temporary).
 */
import * as T from '@peftjs/tensor';
import { quantize4bit, quantizeInt8Rowwise } from '../packages/quant-nf4/src/index.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const backendName = arg('backend') ?? 'cpu';
const seconds = Number(arg('seconds') ?? 1);
const shapes = (arg('shapes') ?? '1x344x128,16x344x128,128x344x128,16x1024x1024,128x1024x1024')
  .split(',')
  .map((s) => s.split('x').map(Number) as [number, number, number]);

if (backendName === 'webgpu') {
  const { registerWebGPUBackend } = await import('../packages/kernels-webgpu/src/index.js');
  registerWebGPUBackend();
}
const be = await T.setBackend(backendName);
if (backendName === 'webgpu') {
  const { formatDeviceReport } = await import('../packages/kernels-webgpu/src/index.js');
  console.log(
    `device: ${formatDeviceReport((be as unknown as { report: Parameters<typeof formatDeviceReport>[0] }).report)}`,
  );
}

function randn(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const r = () => ((s = (s * 1664525 + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(r())) * Math.cos(2 * Math.PI * r()));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Median ms per call of `fn` (which returns a tensor; the last one of each batch is read back). */
async function time(fn: () => T.Tensor): Promise<number> {
  const warm = fn();
  await warm.data();
  warm.dispose();
  const perBatch: number[] = [];
  let batch = 1;
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline || perBatch.length < 3) {
    const t0 = performance.now();
    let last: T.Tensor | null = null;
    for (let i = 0; i < batch; i++) {
      last?.dispose();
      last = fn();
    }
    await (last as T.Tensor).data();
    (last as T.Tensor).dispose();
    const ms = (performance.now() - t0) / batch;
    perBatch.push(ms);
    if (ms * batch < 50) batch *= 2;
    if (perBatch.length > 40) break;
  }
  return median(perBatch);
}

console.log(`backend: ${be.name}; ${seconds} s per case`);
console.log(
  '| M×N×K | product | dense f32 | NF4 fused | NF4 dequantize+matmul | int8 fused | int8 dequantize+matmul | weight bytes (NF4 / int8 / dense temp) |',
);
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |');
for (const [m, n, k] of shapes) {
  const wv = randn(n * k, n + k);
  const q = quantize4bit(wv, [n, k], { quantType: 'nf4', blocksize: 64, doubleQuant: true });
  const nested = q.nested!;
  const w4: T.Quant4bitWeight = {
    packed: T.tensor(q.packed, [q.packed.length], { dtype: 'u8' }),
    absmax: T.tensor(nested.codes, [nested.codes.length], { dtype: 'u8' }),
    nestedAbsmax: T.tensor(nested.absmax, [nested.absmax.length]),
    layout: {
      code: [...q.code],
      blocksize: 64,
      shape: [n, k],
      nested: { code: [...nested.code], blocksize: nested.blocksize, offset: nested.offset },
    },
  };
  const q8 = quantizeInt8Rowwise(wv, n, k);
  const w8 = { weight: T.tensor(q8.weight, [n, k], { dtype: 'i8' }), scb: T.tensor(q8.scb, [n]) };
  const dense = T.tensor(wv, [n, k]);
  const x = T.tensor(randn(m * k, 1), [m, k]);
  const dy = T.tensor(randn(m * n, 2), [m, n]);
  const bytes4 = q.packed.length + nested.codes.length + 4 * nested.absmax.length;
  const bytes8 = n * k + 4 * n;
  for (const [label, input, transW] of [
    ['forward x·Wᵀ', x, true],
    ['input grad dy·W', dy, false],
  ] as const) {
    const dq = await time(() => T.matmul(input, dense, { transB: transW }));
    const f4 = await time(() => T.matmul4bit(input, w4, { transW }));
    const u4 = await time(() => {
      const d = T.dequantize4bit(w4);
      const y = T.matmul(input, d, { transB: transW });
      d.dispose();
      return y;
    });
    const f8 = await time(() => T.matmulInt8(input, w8, { transW }));
    const u8 = await time(() => {
      const d = T.dequantizeInt8(w8);
      const y = T.matmul(input, d, { transB: transW });
      d.dispose();
      return y;
    });
    const ms = (v: number) => `${v.toFixed(3)} ms`;
    console.log(
      `| ${m}×${n}×${k} | ${label} | ${ms(dq)} | ${ms(f4)} | ${ms(u4)} | ${ms(f8)} | ${ms(u8)} | ${bytes4} / ${bytes8} / ${4 * n * k} |`,
    );
  }
  for (const t of [w4.packed, w4.absmax, w4.nestedAbsmax, w8.weight, w8.scb, dense, x, dy]) t?.dispose();
}
await T.destroyBackend(be.name);

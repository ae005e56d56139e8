/**
 * f32 matmul throughput of the WebGPU backend (GFLOP/s), square sizes 512..4096 and the Linear layout (transB).
 *
 *   pnpm build && tsx bench/webgpu-matmul.ts [--sizes 512,1024,2048,4096] [--max N] [--seconds S] [--json FILE]
 *
 * Timing: GPU time from timestamp queries written at the start and end of each compute pass when the device has
 * 'timestamp-query' (Dawn quantizes timestamps unless the `timestamp_quantization` toggle is disabled, which this
 * script does in Node); otherwise wall clock from the first dispatch until the queue reports the work done.
 * Each size runs a warm-up product (pipeline compilation, pool), then `reps` products in one batch, with reps
 * chosen to take about --seconds (default 1). One result per size is checked against float64 dot products.
 *
 * Software adapters (lavapipe, SwiftShader) manage about 2 GFLOP/s: sizes above 1024 are skipped there unless
 * --max says otherwise (4096³ would take over a minute per product).
 *
 * On a machine without Node (the GPU box): from the repo root,
 *   NODE_PATH=packages/kernels-webgpu/node_modules ../shared/tools/gpu/pack.sh bench/webgpu-matmul.ts
 * (NODE_PATH lets pack.sh find `webgpu` and `esbuild`, which are dependencies of @peftjs/kernels-webgpu), then
 * `bash .gpu/run.sh`; DAWN_FLAGS adds Dawn toggles.
 */
import { writeFileSync } from 'node:fs';
import * as T from '@peftjs/tensor';
import { formatDeviceReport, requestWebGPUDevice, WebGPUBackend } from '../packages/kernels-webgpu/src/index.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const sizes = (arg('sizes') ?? '512,1024,2048,4096').split(',').map(Number);
const seconds = Number(arg('seconds') ?? 1);
const toggles = [
  'disable-dawn-features=timestamp_quantization',
  ...(process.env.DAWN_FLAGS ?? '').split(/\s+/).filter(Boolean),
];

const handle = await requestWebGPUDevice({ dawnToggles: toggles });
const be = new WebGPUBackend(handle);
const maxSize = Number(arg('max') ?? (be.softwareAdapter ? 1024 : 4096));
const method = be.hasTimestamps ? 'GPU timestamp queries (per compute pass)' : 'wall clock until onSubmittedWorkDone';
console.log(`device: ${formatDeviceReport(be.report)}`);
console.log(`timing: ${method}`);

interface Row {
  size: number;
  layout: 'A·B' | 'A·Bᵀ';
  reps: number;
  ms: number;
  gflops: number;
  maxRelErr: number;
}
const rows: Row[] = [];

/** Check 16 entries of C = A·op(B) against float64 dot products. */
async function check(a: Float32Array, b: Float32Array, c: T.Tensor, n: number, transB: boolean): Promise<number> {
  const got = (await c.data()) as Float32Array;
  let worst = 0;
  for (let s = 0; s < 16; s++) {
    const i = (s * 7919) % n;
    const j = (s * 104729 + 13) % n;
    let want = 0;
    let scale = 0;
    for (let k = 0; k < n; k++) {
      const p = a[i * n + k] * (transB ? b[j * n + k] : b[k * n + j]);
      want += p;
      scale += Math.abs(p);
    }
    worst = Math.max(worst, Math.abs(got[i * n + j] - want) / scale);
  }
  return worst;
}

for (const n of sizes) {
  if (n > maxSize) {
    console.log(`${n}: skipped (above --max ${maxSize}${be.softwareAdapter ? ', software adapter' : ''})`);
    continue;
  }
  const av = Float32Array.from({ length: n * n }, (_, i) => Math.sin(i * 0.37));
  const bv = Float32Array.from({ length: n * n }, (_, i) => Math.cos(i * 0.11));
  const a = T.tensor(av, [n, n], { backend: be });
  const b = T.tensor(bv, [n, n], { backend: be });
  for (const transB of [false, true]) {
    // warm-up: compile, fill the pool, and check the values
    const c0 = T.matmul(a, b, { transB });
    const err = await check(av, bv, c0, n, transB);
    c0.dispose();
    const once = await be.time(() => T.matmul(a, b, { transB }));
    once.result.dispose();
    const oneMs = once.gpuMs ?? once.wallMs;
    const reps = Math.max(1, Math.min(200, Math.round((seconds * 1000) / Math.max(oneMs, 1e-3))));
    const t = await be.time(() => {
      for (let r = 0; r < reps; r++) T.matmul(a, b, { transB }).dispose();
    });
    const ms = t.gpuMs ?? t.wallMs;
    const gflops = (2 * n * n * n * reps) / (ms * 1e-3) / 1e9;
    const row: Row = { size: n, layout: transB ? 'A·Bᵀ' : 'A·B', reps, ms, gflops, maxRelErr: err };
    rows.push(row);
    console.log(
      `${n}×${n}×${n} ${row.layout}: ${gflops.toFixed(2)} GFLOP/s (${reps} products in ${ms.toFixed(1)} ms; ` +
        `wall ${t.wallMs.toFixed(1)} ms; max rel err ${err.toExponential(1)})`,
    );
    if (!(err < 1e-4)) throw new Error(`matmul ${n} gives wrong values (relative error ${err})`);
  }
  T.dispose([a, b]);
}

console.log('\n| size | layout | GFLOP/s | products | time (ms) |');
console.log('| ---: | :--- | ---: | ---: | ---: |');
for (const r of rows)
  console.log(`| ${r.size} | ${r.layout} | ${r.gflops.toFixed(2)} | ${r.reps} | ${r.ms.toFixed(1)} |`);

const json = arg('json');
if (json) writeFileSync(json, JSON.stringify({ device: be.report, method, rows }, null, 2));
be.destroy();

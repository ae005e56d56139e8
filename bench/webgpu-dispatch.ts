/**
 * Small-op throughput of the WebGPU backend: how many tiny elementwise kernels per second the backend records,
 * submits and runs (per-dispatch overhead: uniform upload, bind group, pool, batching), and the latency of a
 * dependent op followed by a readback.
 *
 *   pnpm build && tsx bench/webgpu-dispatch.ts [--ops N] [--sizes 256,65536] [--flush-every K] [--json FILE]
 *
 * Cases, each over --ops operations (default 5000) after a warm-up:
 * - `add` chain: y = y + 1 on a tensor of `size` elements, each result disposed when replaced (dependent ops);
 * - `exp` independent: exp(x) on the same input, disposed at once;
 * - `add + read`: one add then `await data()` (a full submit → map → readback round trip per op).
 * Timing is wall clock from the first op until flush() resolves (the queue is done), so it includes the GPU work;
 * for the tiny sizes it is the overhead that dominates. GPU time per op from timestamp queries is shown too.
 *
 * Packs for the GPU machine like bench/webgpu-matmul.ts (see there).
 */
import { writeFileSync } from 'node:fs';
import * as T from '@peftjs/tensor';
import { formatDeviceReport, requestWebGPUDevice, WebGPUBackend } from '../packages/kernels-webgpu/src/index.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const ops = Number(arg('ops') ?? 5000);
const sizes = (arg('sizes') ?? '256,65536').split(',').map(Number);
const flushEvery = Number(arg('flush-every') ?? 64);
const toggles = [
  'disable-dawn-features=timestamp_quantization',
  ...(process.env.DAWN_FLAGS ?? '').split(/\s+/).filter(Boolean),
];

const be = new WebGPUBackend(await requestWebGPUDevice({ dawnToggles: toggles }), { flushEvery });
console.log(`device: ${formatDeviceReport(be.report)}`);
console.log(`batching: submit every ${flushEvery} dispatches; timing: wall clock until the queue is done`);

interface Row {
  case: string;
  size: number;
  ops: number;
  ms: number;
  opsPerSec: number;
  gpuUsPerOp: number | null;
}
const rows: Row[] = [];

async function measure(
  name: string,
  size: number,
  n: number,
  body: (n: number) => Promise<void> | void,
): Promise<void> {
  await body(Math.min(200, n)); // warm-up: pipelines, pool
  await be.flush();
  const t0 = performance.now();
  await body(n);
  await be.flush();
  const ms = performance.now() - t0;
  // GPU time of the same work, from timestamp queries (recorded in one pass)
  let gpuUsPerOp: number | null = null;
  if (be.hasTimestamps && !name.includes('read')) {
    const t = await be.time(() => body(n));
    if (t.gpuMs !== null) gpuUsPerOp = (t.gpuMs * 1000) / n;
  }
  const row = { case: name, size, ops: n, ms, opsPerSec: (n / ms) * 1000, gpuUsPerOp };
  rows.push(row);
  console.log(
    `${name} [${size}]: ${Math.round(row.opsPerSec)} ops/s (${n} ops in ${ms.toFixed(0)} ms` +
      `${gpuUsPerOp === null ? '' : `; GPU ${gpuUsPerOp.toFixed(1)} µs/op`})`,
  );
}

for (const size of sizes) {
  const x = T.full([size], 0.5, { backend: be });
  await measure('add chain', size, ops, (n) => {
    let y = x.add(0);
    for (let i = 0; i < n; i++) {
      const z = y.add(1);
      y.dispose();
      y = z;
    }
    y.dispose();
  });
  await measure('exp independent', size, ops, (n) => {
    for (let i = 0; i < n; i++) x.exp().dispose();
  });
  await measure('add + read', size, Math.max(1, Math.floor(ops / 10)), async (n) => {
    for (let i = 0; i < n; i++) {
      const y = x.add(1);
      await y.data();
      y.dispose();
    }
  });
  x.dispose();
}

console.log('\n| case | elements | ops/s | GPU µs/op |');
console.log('| :--- | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(
    `| ${r.case} | ${r.size} | ${Math.round(r.opsPerSec)} | ${r.gpuUsPerOp === null ? '—' : r.gpuUsPerOp.toFixed(1)} |`,
  );
}
const json = arg('json');
if (json) writeFileSync(json, JSON.stringify({ device: be.report, flushEvery, rows }, null, 2));
be.destroy();

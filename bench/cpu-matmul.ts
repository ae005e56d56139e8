/**
 * CPU matmul benchmark: @peftjs/tensor's CPU GEMM against TensorFlow.js (wasm backend, and optionally its pure-JS
 * cpu backend) on square float32 products. Run with `pnpm bench:matmul` (builds @peftjs/tensor, then runs this file
 * with tsx).
 *
 *   tsx bench/cpu-matmul.ts [--sizes 256,512,768,1024] [--no-tfjs-cpu] [--markdown]
 *
 * Method: for every size, inputs are uniform random in [-1, 1) and every implementation's result is spot-checked
 * against float64 dot products. Our wasm kernel (threaded and single-threaded) and TF.js-wasm are then warmed up
 * (at least 3 calls each and 0.4 s per implementation, so V8 tiers the code up and our helper threads are running)
 * and timed round-robin, one call of each in turn, so that all three see the same background load (at least 5 and at
 * most 30 calls each, about 1 s per implementation); the slow JS implementations are timed on their own afterwards.
 * The median time t is reported as GFLOP/s = 2·n³ / t. Every timed call includes getting the result into a
 * Float32Array (TF.js: matMul + dataSync + dispose, inputs already uploaded as tensors; ours: the copies into and
 * out of wasm memory).
 */

import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import {
  gemm,
  gemmJs,
  gemmThreadStats,
  gemmThreads,
  gemmWasm,
  wasmGemmAvailable,
} from '../packages/tensor/src/backends/cpu/gemm.js';

const args = process.argv.slice(2);
const argValue = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const SIZES = (argValue('--sizes') ?? '256,512,768,1024').split(',').map(Number);
const WITH_TFJS_CPU = !args.includes('--no-tfjs-cpu');
const MARKDOWN = args.includes('--markdown');

const WARMUP_MIN_CALLS = 3;
const WARMUP_MIN_MS = 400;
const TIMED_MIN_CALLS = 5;
const TIMED_MIN_MS = 1000;
const TIMED_MAX_CALLS = 30;

interface Impl {
  name: string;
  /** Prepare inputs for size n; returns the function to time. */
  setup(a: Float32Array, b: Float32Array, n: number): { run: () => Float32Array; dispose: () => void };
  /** Slow implementations are skipped above this size. */
  maxSize?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

type Result = { gflops: number; ms: number; calls: number; maxErr: number };

/** Relative error of a few entries of C against float64 dot products (throws if above 1e-5). */
function spotCheck(name: string, a: Float32Array, b: Float32Array, c: Float32Array, n: number): number {
  let maxErr = 0;
  for (let t = 0; t < 16; t++) {
    const i = (t * 7919) % n;
    const j = (t * 104729) % n;
    let s = 0;
    let mag = 0;
    for (let p = 0; p < n; p++) {
      s += a[i * n + p] * b[p * n + j];
      mag += Math.abs(a[i * n + p] * b[p * n + j]);
    }
    maxErr = Math.max(maxErr, Math.abs(c[i * n + j] - s) / mag);
  }
  if (!(maxErr < 1e-5)) throw new Error(`${name} ${n}: wrong result (relative error ${maxErr})`);
  return maxErr;
}

/**
 * Time several implementations on the same n×n inputs. Warm-up and timed calls are interleaved round-robin across
 * the implementations so that all of them see the same background load.
 */
async function timeImpls(impls: Impl[], n: number): Promise<Result[]> {
  const a = new Float32Array(n * n).map(() => Math.random() * 2 - 1);
  const b = new Float32Array(n * n).map(() => Math.random() * 2 - 1);
  const runs = impls.map((impl) => impl.setup(a, b, n));
  const errs = runs.map((r, i) => spotCheck(impls[i].name, a, b, r.run(), n));
  let t0 = performance.now();
  for (let i = 0; i < WARMUP_MIN_CALLS || performance.now() - t0 < WARMUP_MIN_MS * impls.length; i++) {
    for (const r of runs) r.run();
    // let helper threads and background compilation make progress between calls
    if (i < 3) await new Promise((r) => setTimeout(r, 5));
  }
  const times: number[][] = runs.map(() => []);
  t0 = performance.now();
  while (
    times[0].length < TIMED_MIN_CALLS ||
    (performance.now() - t0 < TIMED_MIN_MS * impls.length && times[0].length < TIMED_MAX_CALLS)
  ) {
    for (let i = 0; i < runs.length; i++) {
      const s = performance.now();
      runs[i].run();
      times[i].push(performance.now() - s);
    }
  }
  for (const r of runs) r.dispose();
  return times.map((ts, i) => {
    const ms = median(ts);
    return { gflops: (2 * n ** 3) / (ms * 1e6), ms, calls: ts.length, maxErr: errs[i] };
  });
}

function peftjs(name: string, f: (a: Float32Array, b: Float32Array, c: Float32Array, n: number) => void): Impl {
  return {
    name,
    setup(a, b, n) {
      const c = new Float32Array(n * n);
      return {
        run: () => {
          f(a, b, c, n);
          return c;
        },
        dispose: () => {},
      };
    },
  };
}

function tfjs(name: string, backend: string, maxSize?: number): Impl {
  return {
    name,
    maxSize,
    setup(a, b, n) {
      if (tf.getBackend() !== backend) throw new Error(`TF.js backend is ${tf.getBackend()}, wanted ${backend}`);
      const ta = tf.tensor2d(a, [n, n]);
      const tb = tf.tensor2d(b, [n, n]);
      return {
        run: () => {
          const tc = tf.matMul(ta, tb);
          const out = tc.dataSync() as Float32Array;
          tc.dispose();
          return out;
        },
        dispose: () => {
          ta.dispose();
          tb.dispose();
        },
      };
    },
  };
}

async function main() {
  const require = createRequire(import.meta.url);
  const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  setWasmPaths(`${join(wasmDir, 'dist')}/`);

  if (!wasmGemmAvailable()) throw new Error('peftjs: WebAssembly SIMD GEMM unavailable');

  // Start our helper threads and make sure they take part before timing.
  {
    const n = 256;
    const a = new Float32Array(n * n).fill(1);
    const c = new Float32Array(n * n);
    const start = Date.now();
    while (gemmThreadStats().helperTasks === 0 && Date.now() - start < 10_000) {
      gemm(a, a, c, n, n, n, false, false);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  const ours: Impl[] = [
    peftjs(`peftjs wasm SIMD, ${gemmThreads()} threads`, (a, b, c, n) => gemm(a, b, c, n, n, n, false, false)),
    peftjs('peftjs wasm SIMD, 1 thread', (a, b, c, n) => {
      gemmWasm(a, b, c, n, n, n, false, false, false);
    }),
    peftjs('peftjs JS fallback', (a, b, c, n) => gemmJs(a, b, c, n, n, n, false, false)),
  ];

  await tf.setBackend('wasm');
  await tf.ready();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  const tfThreads = mt ? getThreadsCount() : 1;
  const tfWasmName = `TF.js wasm (SIMD ${simd ? 'on' : 'off'}, ${tfThreads} thread${tfThreads > 1 ? 's' : ''})`;

  const results = new Map<string, Map<number, Result>>();
  const record = (name: string, n: number, r: Result) => {
    if (!results.has(name)) results.set(name, new Map());
    results.get(name)!.set(n, r);
    console.error(
      `  ${name.padEnd(34)} n=${String(n).padEnd(5)} ${r.gflops.toFixed(2).padStart(7)} GFLOP/s  (median of ${r.calls}: ${r.ms.toFixed(2)} ms; load ${loadavg()[0].toFixed(2)})`,
    );
  };

  const load0 = loadavg();
  const fast = [...ours.slice(0, 2), tfjs(tfWasmName, 'wasm')];
  for (const n of SIZES) {
    const rs = await timeImpls(fast, n);
    for (let i = 0; i < fast.length; i++) record(fast[i].name, n, rs[i]);
  }
  for (const n of SIZES) record(ours[2].name, n, (await timeImpls([ours[2]], n))[0]);
  if (WITH_TFJS_CPU) {
    await tf.setBackend('cpu');
    await tf.ready();
    const impl = tfjs('TF.js cpu (pure JS)', 'cpu');
    for (const n of SIZES) record(impl.name, n, (await timeImpls([impl], n))[0]);
  }
  const load1 = loadavg();

  // Table
  const names = [
    ours[0].name,
    ours[1].name,
    ours[2].name,
    tfWasmName,
    ...(WITH_TFJS_CPU ? ['TF.js cpu (pure JS)'] : []),
  ];
  const oursName = names[0];
  const header = ['implementation', ...SIZES.map((n) => `${n}³`)];
  const rows = names.map((name) => [name, ...SIZES.map((n) => results.get(name)?.get(n)?.gflops.toFixed(1) ?? '–')]);
  const ratio = (name: string) => [
    `ratio ${name.startsWith('peftjs wasm SIMD, 1') ? '1-thread' : name.startsWith('peftjs wasm') ? 'threaded' : 'JS'} / TF.js wasm`,
    ...SIZES.map((n) => {
      const x = results.get(name)?.get(n)?.gflops;
      const y = results.get(tfWasmName)?.get(n)?.gflops;
      return x && y ? `${(x / y).toFixed(2)}×` : '–';
    }),
  ];
  rows.push(ratio(oursName), ratio(names[1]));

  const cpuModel = cpus()[0]?.model ?? 'unknown';
  console.log(`CPU matmul, GFLOP/s (2·n³ / median time), float32, n×n · n×n`);
  console.log(`machine: ${cpuModel}, ${cpus().length} cores, Node ${process.version}`);
  console.log(
    `load average (1/5/15 min) before: ${load0.map((x) => x.toFixed(2)).join(' ')}, after: ${load1.map((x) => x.toFixed(2)).join(' ')}`,
  );
  if (MARKDOWN) {
    console.log(`| ${header.join(' | ')} |`);
    console.log(`|${header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`);
    for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  } else {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) => r.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  ');
    console.log(line(header));
    for (const r of rows) console.log(line(r));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

/**
 * The CPU backend's elementwise kernels with and without WebAssembly SIMD (setCpuSimdElementwise), alternating in
 * one process: ns per output element for the shapes of the tiny-LLaMA training step (8×128 tokens, hidden 128, ffn
 * 344), in CPU time of this process (steadier than wall time on a shared machine) and in wall time.
 *
 *   pnpm build && tsx bench/cpu-elementwise.ts [--reps 200]
 *
 * A benchmark, never a test: nothing here asserts a time.
 */
import { loadavg } from 'node:os';
import {
  add,
  dropout,
  Generator,
  initBackend,
  mul,
  randn,
  setCpuSimdElementwise,
  sigmoid,
  silu,
  type Tensor,
} from '@peftjs/tensor';

const i = process.argv.indexOf('--reps');
const reps = i >= 0 ? Number(process.argv[i + 1]) : 200;
await initBackend('cpu');
const g = new Generator(1);
const x = randn([1024, 128], 0, 1, { generator: g });
const y = randn([1024, 128], 0, 1, { generator: g });
const h = randn([1024, 344], 0, 1, { generator: g });
const h2 = randn([1024, 344], 0, 1, { generator: g });
const col = randn([1024, 1], 0, 1, { generator: g });
const w = randn([128], 0, 1, { generator: g });
const cases: [string, () => Tensor][] = [
  ['add [1024,128] + [1024,128]', () => add(x, y)],
  ['mul [1024,344] × [1024,344]', () => mul(h, h2)],
  ['mul [1024,344] × scalar', () => mul(h, 0.5)],
  ['mul [1024,128] × [1024,1]', () => mul(x, col)],
  ['mul [1024,128] × [128]', () => mul(x, w)],
  ['dropout 0.05 [1024,344]', () => dropout(h, 0.05, { generator: g })],
  ['silu [1024,344]', () => silu(h)],
  ['sigmoid [1024,344]', () => sigmoid(h)],
];
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
/** [CPU ms, wall ms] per call. */
const time = (f: () => Tensor): [number, number] => {
  const c0 = cpuMs();
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) f().dispose();
  return [(cpuMs() - c0) / reps, (performance.now() - t0) / reps];
};
console.log(`load average ${loadavg()[0].toFixed(2)}, ${reps} calls per timing, median of 5 alternating rounds`);
for (const [name, f] of cases) {
  const n = f().size;
  const ms = { js: [] as [number, number][], simd: [] as [number, number][] };
  for (let round = 0; round < 5; round++) {
    for (const mode of ['js', 'simd'] as const) {
      setCpuSimdElementwise(mode === 'simd');
      time(f); // warm
      ms[mode].push(time(f));
    }
  }
  setCpuSimdElementwise(true);
  const med = (v: [number, number][], k: 0 | 1) => (v.map((t) => t[k]).sort((a, b) => a - b)[v.length >> 1] * 1e6) / n;
  const [jsCpu, simdCpu, jsWall, simdWall] = [med(ms.js, 0), med(ms.simd, 0), med(ms.js, 1), med(ms.simd, 1)];
  console.log(
    `${name.padEnd(28)} cpu: js ${jsCpu.toFixed(2)} simd ${simdCpu.toFixed(2)} ns/el ×${(jsCpu / simdCpu).toFixed(2)}` +
      `   wall: js ${jsWall.toFixed(2)} simd ${simdWall.toFixed(2)} ×${(jsWall / simdWall).toFixed(2)}`,
  );
}

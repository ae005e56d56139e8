/**
 * The CPU backend's elementwise kernels with and without WebAssembly SIMD (setCpuSimdElementwise), alternating in one
 * process: ns per output element for the shapes of the tiny-LLaMA training step (8×128 tokens, hidden 128, ffn 344).
 *
 *   pnpm build && tsx bench/cpu-elementwise.ts [--reps 200]
 *
 * A benchmark, never a test: nothing here asserts a time.
 */
import { loadavg } from 'node:os';
import { add, dropout, Generator, initBackend, mul, randn, setCpuSimdElementwise, type Tensor } from '@peftjs/tensor';

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
];
const time = (f: () => Tensor) => {
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) f().dispose();
  return (performance.now() - t0) / reps;
};
console.log(`load average ${loadavg()[0].toFixed(2)}`);
for (const [name, f] of cases) {
  const n = f().size;
  const ms = { js: [] as number[], simd: [] as number[] };
  for (let round = 0; round < 5; round++) {
    for (const mode of ['js', 'simd'] as const) {
      setCpuSimdElementwise(mode === 'simd');
      time(f); // warm
      ms[mode].push(time(f));
    }
  }
  const med = (v: number[]) => v.sort((a, b) => a - b)[v.length >> 1];
  const js = (med(ms.js) * 1e6) / n;
  const simd = (med(ms.simd) * 1e6) / n;
  console.log(
    `${name.padEnd(30)} js ${js.toFixed(2)} ns/el  simd ${simd.toFixed(2)} ns/el  ×${(js / simd).toFixed(2)}`,
  );
}

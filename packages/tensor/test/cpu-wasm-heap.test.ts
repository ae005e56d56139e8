import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  add,
  dropout,
  Generator,
  initBackend,
  maskedSoftmax,
  matmul,
  mul,
  randn,
  rmsNorm,
  siluMul,
  type Tensor,
  tensor,
} from '../src/index.js';
import type { CpuBackend } from '../src/backends/cpu/backend.js';
import { heapAllocF32, heapFreeF32, heapOffset, wasmHeapStats } from '../src/backends/cpu/wasm-memory.js';

// Large f32 CPU tensors live on the wasm heap, where the kernels use them in place. Being there must change no bit,
// blocks must come back when tensors are disposed, and views must survive the memory growing.

const cpu = (await initBackend('cpu')) as CpuBackend;
afterEach(() => {
  cpu.useWasmHeap = true;
});

const valuesOf = (t: Tensor) => cpu.values(t.info('test'));
const bits = (v: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(v).buffer));

/** A small forward and backward pass touching the GEMM (plain and batched) and the elementwise kernels. */
function workload(): Float32Array[] {
  const g = new Generator(5);
  const x = randn([4, 64, 96], 0, 1, { generator: g });
  x.requiresGrad = true;
  const w = randn([96, 96], 0, 0.1, { generator: g });
  const gate = matmul(x, w);
  const up = matmul(x, w, { transB: true });
  const h = siluMul(gate, up);
  const scores = matmul(h, h, { transB: true }); // [4, 64, 64]: the batched GEMM
  const p = maskedSoftmax(scores, { scale: 0.1, causal: true });
  const y = add(matmul(p, h), dropout(rmsNorm(h, null, 1e-5), 0.2, { generator: new Generator(3) }));
  mul(y, y).sum().backward();
  return [y.dataSync() as Float32Array, (x.grad as Tensor).dataSync() as Float32Array];
}

describe('CPU tensors on the wasm heap', () => {
  it('large f32 outputs are heap views where the memory is shared', () => {
    const t = randn([256, 64]);
    const values = valuesOf(t);
    expect(values.buffer instanceof SharedArrayBuffer).toBe(true);
    expect(heapOffset(values)).toBeGreaterThan(0);
    const small = tensor([1, 2, 3]);
    expect(heapOffset(valuesOf(small))).toBe(-1);
    t.dispose();
    small.dispose();
  });

  it('give the same bits as plain arrays, forward and backward', () => {
    cpu.useWasmHeap = true;
    const onHeap = workload();
    cpu.useWasmHeap = false;
    cpu.purgePool(); // no heap arrays left to reuse
    const plain = workload();
    expect(bits(onHeap[0])).toEqual(bits(plain[0]));
    expect(bits(onHeap[1])).toEqual(bits(plain[1]));
  });

  it('disposed tensors give their blocks back (reused, not grown)', () => {
    const data = new Float32Array(128 * 100).fill(1.5);
    const round = () => {
      const a = tensor(data, [128, 100]);
      mul(a, 2).dispose();
      a.dispose();
    };
    round(); // the scratch region and the generator's buffers reach their size
    cpu.purgePool();
    const before = wasmHeapStats();
    for (let i = 0; i < 20; i++) round();
    cpu.purgePool();
    const after = wasmHeapStats();
    expect(after.tensorBytes).toBe(before.tensorBytes);
    expect(after.heapBytes - before.heapBytes).toBeLessThanOrEqual(2 * 128 * 128 * 4);
  });

  it('views keep their values when the memory grows under them', () => {
    const a = randn([300, 100], 0, 1, { generator: new Generator(1) });
    const copy = Float32Array.from(a.dataSync());
    // grow the memory well past its size with a large block, then free it
    const big = heapAllocF32(48 * 2 ** 20);
    expect(big).not.toBeNull();
    if (big) heapFreeF32(big.byteOffset, big.length);
    expect(bits(a.dataSync())).toEqual(bits(copy));
    const b = mul(a, 1);
    expect(bits(b.dataSync())).toEqual(bits(copy));
    a.dispose();
    b.dispose();
  });

  it('tensors that are never disposed give their blocks back once collected (no unbounded growth)', () => {
    // a child process with --expose-gc: 200 rounds each leaving a 1 MiB tensor undisposed; after collections (and the
    // event-loop turns that run finalizers) the heap stays near one round's worth
    const pkgRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
    const src = (f: string) => JSON.stringify(join(pkgRoot, f).replace(/\\/g, '/'));
    const code = `
      import { initBackend, mul, tensor } from ${src('src/index.ts')};
      import { wasmHeapStats } from ${src('src/backends/cpu/wasm-memory.ts')};
      await initBackend('cpu');
      const data = new Float32Array(256 * 1024).fill(2);
      let leaked = mul(tensor(data, [256, 1024]), 3);
      const first = leaked.dataSync()[5];
      for (let i = 0; i < 200; i++) {
        leaked = mul(tensor(data, [256, 1024]), 3); // the input and the previous result are dropped, never disposed
        if (i % 20 === 19) {
          globalThis.gc();
          await new Promise((r) => setTimeout(r, 5));
        }
      }
      console.log(JSON.stringify({ first, last: leaked.dataSync()[5], heapMiB: wasmHeapStats().heapBytes / 2 ** 20 }));
    `;
    const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: pkgRoot,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const r = JSON.parse(out.trim().split('\n').pop() as string);
    expect([r.first, r.last]).toEqual([6, 6]);
    // 400 MiB would be allocated without reuse; the pool and the blocks awaiting collection keep far less
    expect(r.heapMiB).toBeLessThan(120);
  });

  it('reused blocks start zeroed where the kernel asks for zeros', () => {
    const a = mul(randn([64, 128]), 3);
    a.dispose();
    cpu.purgePool();
    const z = tensor(new Float32Array(64 * 128), [64, 128]);
    expect(z.dataSync().every((v) => v === 0)).toBe(true);
    z.dispose();
  });
});

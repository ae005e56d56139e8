import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  gemm,
  gemmJs,
  gemmThreadStats,
  gemmWasm,
  setGemmThreads,
  transpose2d,
  wasmGemmAvailable,
} from '../src/backends/cpu/gemm.js';
import { setWasmGemmOperandBudget, wasmGemmMemoryBytes } from '../src/backends/cpu/gemm-wasm.js';

const pkgRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

type Gemm = (
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
) => void;

/** Deterministic inputs in [-1, 1) with a few exact zeros and magnitudes spread over two decades. */
function randomArray(len: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(len);
  for (let i = 0; i < len; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const u = (s >>> 0) / 2 ** 32;
    out[i] = i % 11 === 7 ? 0 : (u * 2 - 1) * (i % 3 === 0 ? 10 : 0.1);
  }
  return out;
}

/** Naive float64 reference: C and Σ|a·b| per element (the scale for the tolerance). */
function reference(
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
) {
  const c = new Float64Array(m * n);
  const mag = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      let t = 0;
      for (let p = 0; p < k; p++) {
        const x = (transA ? a[p * m + i] : a[i * k + p]) * (transB ? b[j * k + p] : b[p * n + j]);
        s += x;
        t += Math.abs(x);
      }
      c[i * n + j] = s;
      mag[i * n + j] = t;
    }
  return { c, mag };
}

/** Largest error relative to the magnitude of the terms (NaN if an element is not finite). */
function maxRelError(got: Float32Array, want: { c: Float64Array; mag: Float64Array }): number {
  let worst = 0;
  for (let i = 0; i < want.c.length; i++) {
    const e = Math.abs(got[i] - want.c[i]) / (want.mag[i] + 1e-30);
    if (!(e <= worst)) worst = Number.isNaN(e) ? Number.NaN : e;
    if (Number.isNaN(worst)) return worst;
  }
  return worst;
}

const TOL = 1e-5;

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 1, 37],
  [1, 50, 1],
  [50, 1, 1],
  [1, 70, 33],
  [70, 1, 33],
  [2, 3, 4],
  [4, 8, 1],
  [4, 8, 16],
  [5, 9, 3],
  [33, 65, 17],
  [17, 33, 65],
  [64, 64, 64],
  [3, 250, 41],
  [250, 3, 41],
  [100, 37, 300],
  [129, 130, 257], // crosses the 128-row block and the 256-deep k block
  [131, 24, 513],
  [9, 17, 2100], // large k: many k blocks
  [260, 200, 96],
];

function check(name: string, f: Gemm, shapes: [number, number, number][]) {
  describe(name, () => {
    for (const [m, n, k] of shapes)
      for (const transA of [false, true])
        for (const transB of [false, true]) {
          it(`${m}×${n}×${k} transA=${transA} transB=${transB}`, () => {
            const a = randomArray(m * k, m * 7919 + k * 31 + (transA ? 1 : 0));
            const b = randomArray(k * n, n * 104729 + k * 17 + (transB ? 3 : 0));
            const c = new Float32Array(m * n).fill(Number.NaN);
            f(a, b, c, m, n, k, transA, transB);
            expect(maxRelError(c, reference(a, b, m, n, k, transA, transB))).toBeLessThan(TOL);
          });
        }
  });
}

afterAll(() => {
  setGemmThreads(0);
  setWasmGemmOperandBudget();
});

it('WebAssembly SIMD is available in Node (so the wasm tests below exercise the kernel)', () => {
  expect(wasmGemmAvailable()).toBe(true);
});

check('gemm (dispatcher)', gemm, SHAPES);
check('gemmJs (portable fallback)', gemmJs, SHAPES);
check(
  'gemmWasm, calling thread only',
  (a, b, c, m, n, k, tA, tB) => expect(gemmWasm(a, b, c, m, n, k, tA, tB, false)).toBe(true),
  SHAPES,
);

describe('gemmWasm, operands chunked over rows and columns (small memory budget)', () => {
  const shapes: [number, number, number][] = [
    [33, 65, 17],
    [129, 130, 257],
    [200, 41, 70],
  ];
  for (const [m, n, k] of shapes)
    for (const transA of [false, true])
      for (const transB of [false, true])
        it(`${m}×${n}×${k} transA=${transA} transB=${transB}`, () => {
          setWasmGemmOperandBudget(Math.floor((4 * (m * k + 2 * k * n + m * n)) / 3));
          try {
            const a = randomArray(m * k, 5 + m);
            const b = randomArray(k * n, 9 + n);
            const c = new Float32Array(m * n).fill(Number.NaN);
            expect(gemmWasm(a, b, c, m, n, k, transA, transB, false)).toBe(true);
            expect(maxRelError(c, reference(a, b, m, n, k, transA, transB))).toBeLessThan(TOL);
          } finally {
            setWasmGemmOperandBudget();
          }
        });
});

describe('gemmWasm with helper threads', () => {
  it('helper threads take tasks and the results are exact to tolerance', async () => {
    setGemmThreads(2);
    const m = 192;
    const n = 160;
    const k = 200;
    const cases: [boolean, boolean][] = [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ];
    const before = gemmThreadStats().helperTasks;
    // Helpers start asynchronously; until one is up the calling thread runs every task itself.
    const deadline = Date.now() + 20_000;
    let round = 0;
    while (gemmThreadStats().helperTasks === before && Date.now() < deadline) {
      const [tA, tB] = cases[round++ % 4];
      const a = randomArray(m * k, round);
      const b = randomArray(k * n, round + 100);
      const c = new Float32Array(m * n).fill(Number.NaN);
      gemm(a, b, c, m, n, k, tA, tB);
      expect(maxRelError(c, reference(a, b, m, n, k, tA, tB))).toBeLessThan(TOL);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(gemmThreadStats().helperTasks).toBeGreaterThan(before);
    for (let r = 0; r < 12; r++) {
      const [tA, tB] = cases[r % 4];
      const [mm, nn, kk] = r < 4 ? [m, n, k] : r < 8 ? [301, 97, 130] : [100, 517, 64];
      const a = randomArray(mm * kk, 1000 + r);
      const b = randomArray(kk * nn, 2000 + r);
      const c = new Float32Array(mm * nn).fill(Number.NaN);
      gemm(a, b, c, mm, nn, kk, tA, tB);
      expect(maxRelError(c, reference(a, b, mm, nn, kk, tA, tB))).toBeLessThan(TOL);
    }
  });

  it('a Node process using the threaded path exits on its own', () => {
    const src = join(pkgRoot, 'src/backends/cpu/gemm.ts').replace(/\\/g, '/');
    const code = `
      import { gemm, gemmThreadStats } from ${JSON.stringify(src)};
      const n = 256, a = new Float32Array(n * n).fill(1), c = new Float32Array(n * n);
      const t0 = Date.now();
      while (gemmThreadStats().helperTasks === 0 && Date.now() - t0 < 10000) {
        gemm(a, a, c, n, n, n, false, false);
        await new Promise((r) => setTimeout(r, 10));
      }
      if (c[0] !== n) throw new Error('wrong result ' + c[0]);
      console.log('helperTasks', gemmThreadStats().helperTasks);
    `;
    const t = Date.now();
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: pkgRoot,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(out).toMatch(/helperTasks [1-9]/);
    expect(Date.now() - t).toBeLessThan(25_000);
  });
});

describe('gemmWasm memory', () => {
  it('reuses its grown memory instead of growing per call', () => {
    setGemmThreads(1);
    const m = 150;
    const n = 170;
    const k = 190;
    const a = randomArray(m * k, 1);
    const b = randomArray(k * n, 2);
    const c = new Float32Array(m * n);
    gemmWasm(a, b, c, m, n, k, false, false);
    const size = wasmGemmMemoryBytes();
    expect(size).toBeGreaterThan(0);
    for (let i = 0; i < 20; i++) gemmWasm(a, b, c, m, n, k, i % 2 === 0, i % 3 === 0);
    gemmWasm(a.subarray(0, 10 * k), b, c, 10, n, k, false, false);
    expect(wasmGemmMemoryBytes()).toBe(size);
    setGemmThreads(0);
  });

  it('stays within the operand budget however large the product (chunks are reused)', () => {
    setWasmGemmOperandBudget(256 * 1024);
    try {
      const k = 90;
      let size = 0;
      for (const [m, n] of [
        [700, 600],
        [1500, 1300],
      ]) {
        const a = randomArray(m * k, m);
        const b = randomArray(k * n, n);
        const c = new Float32Array(m * n).fill(Number.NaN);
        expect(gemmWasm(a, b, c, m, n, k, true, false, false)).toBe(true);
        expect(maxRelError(c, reference(a, b, m, n, k, true, false))).toBeLessThan(TOL);
        if (size === 0) size = wasmGemmMemoryBytes();
        else expect(wasmGemmMemoryBytes()).toBe(size);
      }
    } finally {
      setWasmGemmOperandBudget();
    }
  });
});

describe('special values and edge cases', () => {
  it('k = 0 gives zeros; empty m or n writes nothing', () => {
    for (const f of [gemm, gemmJs] as Gemm[]) {
      const c = new Float32Array(12).fill(7);
      f(new Float32Array(0), new Float32Array(0), c, 3, 4, 0, false, false);
      expect(Array.from(c)).toEqual(new Array(12).fill(0));
    }
    const c = new Float32Array(4).fill(7);
    gemm(new Float32Array(0), new Float32Array(40), c, 0, 4, 10, false, false);
    expect(Array.from(c)).toEqual([7, 7, 7, 7]);
  });

  it('NaN and Infinity propagate as in IEEE arithmetic (0·Inf = NaN)', () => {
    const m = 40;
    const n = 40;
    const k = 40;
    for (const f of [gemm, gemmJs] as Gemm[]) {
      const a = new Float32Array(m * k); // zeros
      const b = randomArray(k * n, 11);
      b[5 * n + 3] = Number.POSITIVE_INFINITY; // row p=5, column 3
      const c = new Float32Array(m * n);
      f(a, b, c, m, n, k, false, false);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) expect(Number.isNaN(c[i * n + j])).toBe(j === 3);
    }
  });

  it('only the first m*n elements of C are written', () => {
    const m = 30;
    const n = 20;
    const k = 50;
    const a = randomArray(m * k, 1);
    const b = randomArray(k * n, 2);
    const c = new Float32Array(m * n + 5).fill(42);
    gemm(a, b, c, m, n, k, false, false);
    expect(Array.from(c.subarray(m * n))).toEqual([42, 42, 42, 42, 42]);
  });

  it('transpose2d', () => {
    const x = Float32Array.from({ length: 6 }, (_, i) => i);
    expect(Array.from(transpose2d(x, 2, 3))).toEqual([0, 3, 1, 4, 2, 5]);
  });
});

it('gemm-wasm.generated.ts is up to date with gemm.wat', () => {
  const out = execFileSync(process.execPath, [join(pkgRoot, 'scripts/gen-wasm.mjs'), '--check'], {
    cwd: pkgRoot,
    encoding: 'utf8',
  });
  expect(out).toMatch(/up to date/);
});

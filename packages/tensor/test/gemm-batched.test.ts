import { afterAll, describe, expect, it } from 'vitest';
import { gemm, gemmBatched, gemmThreadStats, setGemmThreads } from '../src/backends/cpu/gemm.js';

// Batched products (attention's per-head matmuls) run as one wasm job over all entries. Each entry must come out
// exactly as a product of its own (the same blocking, so the same bits) and close to a float64 reference.
function randomArray(len: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: len }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}

/** Entry i of the batch in float64, and the largest |term| sum per element (the error scale of float32 sums). */
function reference(a: Float32Array, b: Float32Array, i: number, m: number, n: number, k: number, o: Opts) {
  const ao = (o.shareA ? 0 : i) * m * k;
  const bo = (o.shareB ? 0 : i) * k * n;
  const c = new Float64Array(m * n);
  const mag = new Float64Array(m * n);
  for (let r = 0; r < m; r++)
    for (let j = 0; j < n; j++)
      for (let p = 0; p < k; p++) {
        const x =
          (o.transA ? a[ao + p * m + r] : a[ao + r * k + p]) * (o.transB ? b[bo + j * k + p] : b[bo + p * n + j]);
        c[r * n + j] += x;
        mag[r * n + j] += Math.abs(x);
      }
  return { c, mag };
}

interface Opts {
  transA: boolean;
  transB: boolean;
  shareA: boolean;
  shareB: boolean;
}

function check(batch: number, m: number, n: number, k: number, o: Opts, seed: number) {
  const a = randomArray((o.shareA ? 1 : batch) * m * k, seed);
  const b = randomArray((o.shareB ? 1 : batch) * k * n, seed + 1);
  const c = new Float32Array(batch * m * n).fill(Number.NaN);
  gemmBatched(a, b, c, batch, m, n, k, o.transA, o.transB, o.shareA, o.shareB);
  for (let i = 0; i < batch; i++) {
    const one = new Float32Array(m * n);
    gemm(
      a.subarray((o.shareA ? 0 : i) * m * k, (o.shareA ? 1 : i + 1) * m * k),
      b.subarray((o.shareB ? 0 : i) * k * n, (o.shareB ? 1 : i + 1) * k * n),
      one,
      m,
      n,
      k,
      o.transA,
      o.transB,
    );
    const entry = c.subarray(i * m * n, (i + 1) * m * n);
    expect(Array.from(entry)).toEqual(Array.from(one));
    const { c: ref, mag } = reference(a, b, i, m, n, k, o);
    for (let q = 0; q < m * n; q++) expect(Math.abs(entry[q] - ref[q])).toBeLessThanOrEqual(1e-6 * mag[q] + 1e-30);
  }
}

/** Whether every entry of one batched job has exactly the bits of its own product (no float64 reference). */
function batchedEqualsSingleProducts(batch: number, m: number, n: number, k: number, o: Opts, seed: number): boolean {
  const a = randomArray(batch * m * k, seed);
  const b = randomArray(batch * k * n, seed + 1);
  const c = new Float32Array(batch * m * n).fill(Number.NaN);
  gemmBatched(a, b, c, batch, m, n, k, o.transA, o.transB, false, false);
  const one = new Float32Array(m * n);
  for (let i = 0; i < batch; i++) {
    gemm(
      a.subarray(i * m * k, (i + 1) * m * k),
      b.subarray(i * k * n, (i + 1) * k * n),
      one,
      m,
      n,
      k,
      o.transA,
      o.transB,
    );
    for (let q = 0; q < m * n; q++) if (!Object.is(c[i * m * n + q], one[q])) return false;
  }
  return true;
}

afterAll(() => setGemmThreads(0));

describe('gemmBatched', () => {
  const shapes: [number, number, number, number][] = [
    [3, 17, 13, 9], // every edge tile
    [4, 32, 40, 32],
    [2, 64, 8, 33],
    [5, 9, 70, 20],
  ];
  for (const [batch, m, n, k] of shapes)
    for (const transA of [false, true])
      for (const transB of [false, true])
        for (const [shareA, shareB] of [
          [false, false],
          [true, false],
          [false, true],
        ])
          it(`${batch}×[${m}×${k}]·[${k}×${n}] transA=${transA} transB=${transB} shareA=${shareA} shareB=${shareB}`, () => {
            check(batch, m, n, k, { transA, transB, shareA, shareB }, batch * 1000 + m + n + k);
          });

  it('helper threads take whole entries; every entry still equals its own product', { timeout: 90_000 }, async () => {
    setGemmThreads(2);
    const o = { transA: false, transB: true, shareA: false, shareB: false };
    const before = gemmThreadStats().helperTasks;
    // Entries of 64×64×48 (below the per-product threading threshold, above it together). Helpers start and wake
    // asynchronously, and on a loaded machine the calling thread may run a whole job before one wakes: keep the
    // rounds cheap (a bitwise comparison with single products, no float64 reference) and the jobs long enough.
    const deadline = Date.now() + 60_000;
    let round = 0;
    while (gemmThreadStats().helperTasks === before && Date.now() < deadline) {
      expect(batchedEqualsSingleProducts(256, 64, 64, 48, o, round++)).toBe(true);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(gemmThreadStats().helperTasks).toBeGreaterThan(before);
    check(32, 64, 64, 48, { ...o, transA: true, transB: false }, 99);
  });
});

import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  add,
  cpuSimdElementwiseAvailable,
  div,
  dropout,
  Generator,
  mul,
  initBackend,
  setCpuSimdElementwise,
  sigmoid,
  silu,
  sub,
  type Tensor,
  tensor,
  uniformAt,
} from '../src/index.js';
import type { CpuBackend } from '../src/backends/cpu/backend.js';
import { unaryGrad } from '../src/backends/cpu/kernels/unaryGrad.js';
import { ELEMENTWISE_WASM_SHARED_BASE64 } from '../src/backends/cpu/elementwise-wasm.generated.js';
import { decode } from '../src/backends/cpu/gemm-wasm.js';
import { elementwiseModuleBytes } from '../src/backends/cpu/wasm-memory.js';
import { SIMD_MIN_ELEMENTS, simdCalls, simdSigmoidMatchesMathExp } from '../src/backends/cpu/simd.js';
import * as m from '../src/math.js';

// The WebAssembly SIMD elementwise kernels replace JavaScript loops on the training path: they must give the same
// bits (training trajectories and golden cases must not move), over every tail length and broadcast pattern.
const pkgRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Bits of each value, NaN as one token (NaN payloads are not part of the contract). */
const bits = (v: ArrayLike<number>): (number | 'NaN')[] => {
  const f = Float32Array.from(v);
  const u = new Uint32Array(f.buffer);
  return Array.from(f, (x, i) => (Number.isNaN(x) ? 'NaN' : u[i]));
};

/** Values with the awkward cases mixed in: signed zeros, infinities, NaN, subnormals, huge and tiny magnitudes. */
function values(n: number, seed: number): number[] {
  const special = [0, -0, Infinity, -Infinity, Number.NaN, 1e-40, -1e-42, 3e38, -3e38, 1e-30];
  let s = seed >>> 0;
  return Array.from({ length: n }, (_, i) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    if (i % 97 === 13) return special[(s >>> 8) % special.length];
    return ((s >>> 8) / 2 ** 24 - 0.5) * 8;
  });
}

const OPS = { add, sub, mul, div } as const;
const F64 = {
  add: (x: number, y: number) => x + y,
  sub: (x: number, y: number) => x - y,
  mul: (x: number, y: number) => x * y,
  div: (x: number, y: number) => x / y,
};

/** a op b broadcast to `shape`, each element computed in float64 and rounded once to f32 (an independent reference). */
function reference(
  op: keyof typeof F64,
  a: number[],
  aShape: number[],
  b: number[],
  bShape: number[],
  shape: number[],
) {
  const rank = shape.length;
  const stridesFor = (s: number[]) => {
    const padded = [...new Array(rank - s.length).fill(1), ...s];
    const st = new Array<number>(rank).fill(0);
    let acc = 1;
    for (let d = rank - 1; d >= 0; d--) {
      st[d] = padded[d] === 1 ? 0 : acc;
      acc *= padded[d];
    }
    return st;
  };
  const sa = stridesFor(aShape);
  const sb = stridesFor(bShape);
  const size = shape.reduce((p, d) => p * d, 1);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    let r = i;
    let ia = 0;
    let ib = 0;
    for (let d = rank - 1; d >= 0; d--) {
      const k = r % shape[d];
      r = Math.floor(r / shape[d]);
      ia += k * sa[d];
      ib += k * sb[d];
    }
    out[i] = F64[op](Math.fround(a[ia]), Math.fround(b[ib]));
  }
  return out;
}

const withSimd = (on: boolean, f: () => Tensor) => {
  setCpuSimdElementwise(on);
  try {
    return f().dataSync();
  } finally {
    setCpuSimdElementwise(true);
  }
};

afterEach(() => setCpuSimdElementwise(true));

describe('WebAssembly SIMD elementwise kernels (CPU)', () => {
  it('are available in Node (so the cases below exercise them)', () => {
    expect(cpuSimdElementwiseAvailable()).toBe(true);
  });

  // [output shape, a shape, b shape]: contiguous with every tail length mod 8, row broadcasts (per-row scalar, per
  // column vector), a broadcast a (swapped for + and ×, JavaScript for − and ÷), outer axes, and a scalar
  const N = SIMD_MIN_ELEMENTS;
  const cases: [number[], number[], number[]][] = [
    ...[0, 1, 2, 3, 4, 5, 6, 7, 9].map((k): [number[], number[], number[]] => [[N + k], [N + k], [N + k]]),
    [
      [37, 131],
      [37, 131],
      [37, 1],
    ],
    [[37, 131], [37, 131], [131]],
    [[37, 131], [131], [37, 131]],
    [
      [37, 131],
      [37, 1],
      [37, 131],
    ],
    [
      [3, 5, 17, 19],
      [3, 5, 17, 19],
      [1, 1, 17, 19],
    ],
    [
      [3, 7, 67],
      [3, 7, 67],
      [3, 1, 67],
    ],
    [
      [3, 7, 67],
      [3, 7, 67],
      [3, 7, 1],
    ],
    [
      [2, 3, 5, 41],
      [2, 3, 5, 41],
      [2, 1, 5, 1],
    ],
    [[1031], [1031], []],
    [[1031], [], [1031]],
  ];
  for (const [shape, aShape, bShape] of cases) {
    for (const op of Object.keys(OPS) as (keyof typeof OPS)[]) {
      it(`${op} ${JSON.stringify(aShape)} with ${JSON.stringify(bShape)}: the JavaScript loop's bits`, () => {
        const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
        const av = values(size(aShape), 1 + shape.length);
        const bv = values(size(bShape), 7 + shape[0]).map((x, i) => (op === 'div' && i % 5 === 0 ? x + 3 : x));
        const a = tensor(av, aShape);
        const b = tensor(bv, bShape);
        const before = simdCalls.binary;
        const simd = withSimd(true, () => OPS[op](a, b));
        // a broadcast along the innermost axis has a SIMD form only for + and × (operands swapped)
        const aInnerBroadcast = (aShape.at(-1) ?? 1) === 1 && (shape.at(-1) ?? 1) > 1;
        expect(simdCalls.binary - before).toBe(aInnerBroadcast && (op === 'sub' || op === 'div') ? 0 : 1);
        const js = withSimd(false, () => OPS[op](a, b));
        expect(bits(simd)).toEqual(bits(reference(op, av, aShape, bv, bShape, shape)));
        expect(bits(simd)).toEqual(bits(js));
      });
    }
  }

  it('x op x (one operand array used twice)', () => {
    const x = tensor(values(2051, 3), [2051]);
    for (const op of Object.keys(OPS) as (keyof typeof OPS)[]) {
      expect(bits(withSimd(true, () => OPS[op](x, x)))).toEqual(bits(withSimd(false, () => OPS[op](x, x))));
    }
  });

  // dropout: the counter-based mask, including counters whose low word wraps inside the vector body and in the tail
  const counters = [
    0,
    5,
    2 ** 32 - 1,
    2 ** 32 - 2,
    2 ** 32 - 37,
    2 ** 32 - N - 2,
    2 ** 33 + 3,
    2 ** 52 - 1029,
    2 ** 53 - 5000,
  ];
  for (const counter of counters) {
    for (const [n, p] of [
      [N + 3, 0.05],
      [N + 6, 0.5],
      [4099, 0.3],
    ] as const) {
      it(`dropout p=${p} of ${n} values from counter ${counter}: uniformAt's mask, the JavaScript loop's bits`, () => {
        const xv = values(n, counter % 1000);
        const x = tensor(xv, [n]);
        const gen = new Generator(12345);
        const run = (on: boolean) =>
          withSimd(on, () => {
            gen.setState({ counter });
            return dropout(x, p, { generator: gen });
          });
        const before = simdCalls.dropout;
        const simd = run(true);
        expect(simdCalls.dropout - before).toBe(1);
        const js = run(false);
        const p32 = Math.fround(p);
        const scale = Math.fround(1 / (1 - p));
        const ref = xv.map((v, i) => (uniformAt(gen.key, counter + i) >= p32 ? Math.fround(v) * scale : 0));
        expect(bits(simd)).toEqual(bits(ref));
        expect(bits(simd)).toEqual(bits(js));
        const kept = Array.from(simd).filter((v, i) => v !== 0 || xv[i] === 0).length / n;
        expect(Math.abs(kept - (1 - p))).toBeLessThan(0.05);
      });
    }
  }

  // sigmoid and SiLU: float64 inside with a port of V8's Math.exp, so the same bits as the loops that call Math.exp
  /** Inputs over the whole f32 range: random bit patterns, the usual activations, tiny ones, and the edge cases. */
  function activations(n: number, seed: number): Float32Array {
    const x = new Float32Array(n);
    const u = new Uint32Array(x.buffer);
    let s = seed >>> 0;
    const next = () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s;
    };
    const edges = [0, -0, Infinity, -Infinity, Number.NaN, 1, -1, 0.3466, 1.0397, -706.9, -707, -708.4, -745.2, 88.7];
    for (let i = 0; i < n; i++) {
      const r = next();
      if (i % 5 === 0)
        u[i] = next(); // any bit pattern: huge, subnormal, NaN payloads
      else if (i % 5 === 1) x[i] = (r / 2 ** 32 - 0.5) * 40;
      else if (i % 5 === 2) x[i] = (r / 2 ** 32 - 0.5) * 2;
      else if (i % 5 === 3) x[i] = (r / 2 ** 32 - 0.5) * 10 ** -(r % 12);
      else x[i] = edges[r % edges.length];
    }
    return x;
  }
  it.runIf(process.arch === 'x64')("V8's Math.exp on x64 is the kernel's exp (so the sigmoid kernels are on)", () => {
    expect(simdSigmoidMatchesMathExp()).toBe(true);
  });
  // where the self-check fails the JavaScript loops run instead: the bits below hold either way
  const sigmoidCalls = () => (simdSigmoidMatchesMathExp() ? 1 : 0);
  for (const n of [N, N + 1, 20001]) {
    it(`sigmoid and silu of ${n} values: math.ts's sigmoid through Math.exp, bit for bit`, () => {
      const xv = activations(n, n);
      const x = tensor(xv, [n]);
      for (const [name, op, f] of [
        ['sigmoid', sigmoid, (v: number) => m.sigmoid(v)],
        ['silu', silu, (v: number) => v * m.sigmoid(v)],
      ] as const) {
        const before = simdCalls.sigmoid;
        const simd = withSimd(true, () => op(x));
        expect(simdCalls.sigmoid - before, name).toBe(sigmoidCalls());
        expect(bits(simd), name).toEqual(bits(Array.from(xv, f)));
        expect(bits(simd), name).toEqual(bits(withSimd(false, () => op(x))));
      }
    });

    it(`sigmoid and silu gradients of ${n} values: unaryGrad's loops, bit for bit`, async () => {
      const be = (await initBackend('cpu')) as CpuBackend;
      const xv = activations(n, 7 * n);
      const dv = values(n, 3 * n).map((v) => (Number.isFinite(v) ? v : 0.5));
      const info = (v: Float32Array | number[]) => ({
        dataId: be.upload(Float32Array.from(v), 'f32'),
        shape: [n],
        dtype: 'f32' as const,
      });
      const xi = info(xv);
      const di = info(dv);
      for (const op of ['sigmoid', 'silu'] as const) {
        const run = (on: boolean) => {
          setCpuSimdElementwise(on);
          const out = unaryGrad.impl(be, [xi, di], { op });
          setCpuSimdElementwise(true);
          return be.readSync(out.dataId, 'f32', n);
        };
        const before = simdCalls.sigmoidGrad;
        const simd = run(true);
        expect(simdCalls.sigmoidGrad - before, op).toBe(sigmoidCalls());
        const ref = Array.from(xv, (x, i) => {
          const s = m.sigmoid(x);
          return Math.fround(dv[i]) * (op === 'silu' ? s * (1 + x * (1 - s)) : s * (1 - s));
        });
        expect(bits(simd), op).toEqual(bits(ref));
        expect(bits(simd), op).toEqual(bits(run(false)));
      }
    });
  }

  it('the unshared variant (pages without SharedArrayBuffer) runs on a plain memory with the same results', () => {
    expect(WebAssembly.validate(decode(ELEMENTWISE_WASM_SHARED_BASE64))).toBe(true);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 16384 });
    const k = new WebAssembly.Instance(new WebAssembly.Module(elementwiseModuleBytes(false)), { env: { memory } })
      .exports as unknown as { binary: (...args: number[]) => void; dropout: (...args: number[]) => void };
    const n = 1027;
    const f32 = new Float32Array(memory.buffer);
    const a = Float32Array.from(values(n, 5));
    const b = Float32Array.from(values(n, 6));
    f32.set(a, 0);
    f32.set(b, 2048);
    k.binary(2, 4 * 4096, 0, 0, 4 * 2048, 0, 1, 1, n); // mul, one row
    expect(bits(f32.subarray(4096, 4096 + n))).toEqual(bits(Array.from(a, (x, i) => x * b[i])));
    const key: [number, number] = [0x12345678, 0x9abcdef0];
    const counter = 2 ** 32 - 500; // wraps inside the row
    k.dropout(0, 4 * 8192, n, counter >>> 0, 0, key[0] | 0, key[1] | 0, Math.fround(0.25), Math.fround(1 / 0.75));
    const ref = Array.from(a, (x, i) =>
      uniformAt(key, counter + i) >= Math.fround(0.25) ? x * Math.fround(1 / 0.75) : 0,
    );
    expect(bits(f32.subarray(8192, 8192 + n))).toEqual(bits(ref));
  });

  it('elementwise-wasm.generated.ts is up to date with elementwise.wat', () => {
    const out = execFileSync(process.execPath, [join(pkgRoot, 'scripts/gen-wasm.mjs'), '--check'], {
      encoding: 'utf8',
    });
    expect(out).toContain('elementwise-wasm.generated.ts is up to date');
  });
});

/**
 * The quantized kernels of @peftjs/tensor (byte storage, dequantize4bit / dequantizeInt8, the fused matmul4bit /
 * matmulInt8 and their input gradient) against this package's JavaScript reference and float64 products. Run on
 * every backend (kernels.cpu.test.ts, kernels.webgpu.test.ts).
 */
import {
  type Backend,
  DTypeError,
  dequantize4bit as dequantize4bitOp,
  dequantizeInt8 as dequantizeInt8Op,
  matmul4bit,
  matmulInt8,
  memory,
  type Quant4bitWeight,
  type Tensor,
  tensor,
  zeros,
} from '@peftjs/tensor';
import { expect, it } from 'vitest';
import { tree } from '@peftjs/test-utils';
import {
  dequantize4bit,
  dequantizeInt8,
  Linear4bit,
  QuantizationError,
  settleQuantized,
  type Quantize4bitOptions,
  type Quantized4bit,
  quantize4bit,
  quantizeInt8Rowwise,
} from '../src/index.js';
import { maxRelErr } from './golden-util.js';

function seeded(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function randomF32(n: number, seed: number, scale = 1): Float32Array {
  const r = seeded(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12);
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r()) * scale;
  }
  return out;
}

export function toDevice(q: Quantized4bit, backend: Backend): Quant4bitWeight {
  const packed = tensor(q.packed, [q.packed.length], { dtype: 'u8', backend });
  const absmax = q.nested
    ? tensor(q.nested.codes, [q.nested.codes.length], { dtype: 'u8', backend })
    : tensor(q.absmax as Float32Array, [(q.absmax as Float32Array).length], { backend });
  const nestedAbsmax = q.nested ? tensor(q.nested.absmax, [q.nested.absmax.length], { backend }) : null;
  return {
    packed,
    absmax,
    nestedAbsmax,
    layout: {
      code: [...q.code],
      blocksize: q.blocksize,
      shape: [...q.shape],
      nested: q.nested ? { code: [...q.nested.code], blocksize: q.nested.blocksize, offset: q.nested.offset } : null,
    },
  };
}

const free = (w: Quant4bitWeight): void => {
  for (const t of [w.packed, w.absmax, w.nestedAbsmax]) t?.dispose();
};

/** float64 x · op(W) for x [m, k]. */
function product64(x: Float32Array, w: Float32Array, m: number, rows: number, cols: number, transW: boolean) {
  const [k, n] = transW ? [cols, rows] : [rows, cols];
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += x[i * k + t] * (transW ? w[j * cols + t] : w[t * cols + j]);
      out[i * n + j] = s;
    }
  return out;
}

/** Largest |a − b| relative to the largest |b| (matmul sums reorder, so compare against the output's scale). */
function scaledErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return m / s;
}

const LAYOUTS: [string, number, number, Quantize4bitOptions][] = [
  ['nf4 blocksize 64, ragged, odd count', 37, 51, { quantType: 'nf4', blocksize: 64 }],
  ['fp4 blocksize 32, double quant over 300 blocks', 96, 100, { quantType: 'fp4', blocksize: 32, doubleQuant: true }],
  ['nf4 blocksize 128, double quant', 70, 64, { quantType: 'nf4', blocksize: 128, doubleQuant: true }],
];

export function quantKernelSuite(backend: () => Backend): void {
  it('byte tensors round-trip (odd lengths), count their bytes, and are refused by other ops', async () => {
    const be = backend();
    for (const n of [1, 5, 7, 1001]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 255);
      const before = memory().bytes;
      const u = tensor(bytes, [n], { dtype: 'u8', backend: be });
      expect(memory().bytes - before).toBe(be.name === 'cpu' ? n : Math.max(4, Math.ceil(n / 4) * 4));
      const back = await u.data();
      expect(back).toBeInstanceOf(Uint8Array);
      expect([...back]).toEqual([...bytes]);
      const i8 = tensor(new Int8Array(bytes.buffer), [n], { dtype: 'i8', backend: be });
      const back8 = await i8.data();
      expect(back8).toBeInstanceOf(Int8Array);
      expect([...back8]).toEqual([...new Int8Array(bytes.buffer)]);
      expect(() => u.add(u)).toThrow(DTypeError);
      expect(() => i8.cast('f32')).toThrow(DTypeError);
      u.dispose();
      i8.dispose();
    }
    expect(() => zeros([3], { dtype: 'u8', backend: be })).toThrow(DTypeError);
  });

  for (const [name, rows, cols, opts] of LAYOUTS) {
    it(`dequantize4bit and the fused matmul4bit: ${name}`, async () => {
      const be = backend();
      const q = quantize4bit(randomF32(rows * cols, rows + cols, 0.7), [rows, cols], opts);
      const want = dequantize4bit(q);
      const w = toDevice(q, be);
      const d = dequantize4bitOp(w);
      expect([...d.shape]).toEqual([rows, cols]);
      expect(maxRelErr(await d.data(), want)).toBeLessThanOrEqual(1e-6);
      d.dispose();
      // forward x · Wᵀ on a rank-3 input, and its input gradient dy · W
      const m = 2 * 5;
      const xv = randomF32(m * cols, 7);
      const x = tensor(xv, [2, 5, cols], { backend: be, requiresGrad: true });
      const y = matmul4bit(x, w);
      expect([...y.shape]).toEqual([2, 5, rows]);
      expect(scaledErr(await y.data(), product64(xv, want, m, rows, cols, true))).toBeLessThanOrEqual(1e-5);
      const dyv = randomF32(m * rows, 8);
      const dy = tensor(dyv, [2, 5, rows], { backend: be });
      y.backward(dy);
      expect(scaledErr(await x.grad!.data(), product64(dyv, want, m, rows, cols, false))).toBeLessThanOrEqual(1e-5);
      // few rows (the small-M programs), both orientations
      for (const rowsX of [1, 3, 8]) {
        const s = tensor(randomF32(rowsX * cols, rowsX), [rowsX, cols], { backend: be });
        const sy = matmul4bit(s, w);
        expect(
          scaledErr(await sy.data(), product64((await s.data()) as Float32Array, want, rowsX, rows, cols, true)),
        ).toBeLessThanOrEqual(1e-5);
        const t = tensor(randomF32(rowsX * rows, rowsX + 1), [rowsX, rows], { backend: be });
        const ty = matmul4bit(t, w, { transW: false });
        expect(
          scaledErr(await ty.data(), product64((await t.data()) as Float32Array, want, rowsX, rows, cols, false)),
        ).toBeLessThanOrEqual(1e-5);
        for (const v of [s, sy, t, ty]) v.dispose();
      }
      // x · W directly, with a row count that is not a multiple of the tile
      const z = tensor(randomF32(67 * rows, 9), [67, rows], { backend: be });
      const zw = matmul4bit(z, w, { transW: false });
      expect(
        scaledErr(await zw.data(), product64((await z.data()) as Float32Array, want, 67, rows, cols, false)),
      ).toBeLessThanOrEqual(1e-5);
      for (const t of [x, y, dy, z, zw]) t.dispose();
      free(w);
    });
  }

  it('Linear4bit.setDenseWeight quantizes again (at once on the CPU, at settle() elsewhere)', async () => {
    const be = backend();
    const layer = Linear4bit.quantize(randomF32(40 * 64, 11), 40, 64, {
      quantType: 'nf4',
      doubleQuant: true,
      backend: be,
    });
    const next = randomF32(40 * 64, 12);
    const want = dequantize4bit(quantize4bit(next, [40, 64], { quantType: 'nf4', doubleQuant: true }));
    const w = tensor(next, [40, 64], { backend: be });
    layer.setDenseWeight(w);
    w.dispose();
    const x = zeros([1, 64], { backend: be });
    if (be.readSync) {
      expect(layer.hasPendingWeight).toBe(false);
    } else {
      expect(layer.hasPendingWeight).toBe(true);
      expect(() => layer.forward(x)).toThrow(QuantizationError);
      const pending = layer.denseWeight();
      expect([...(await pending.data())]).toEqual([...next]);
      pending.dispose();
      await settleQuantized(tree({ l: layer }));
      expect(layer.hasPendingWeight).toBe(false);
    }
    const d = layer.denseWeight();
    expect(maxRelErr(await d.data(), want)).toBeLessThanOrEqual(1e-6);
    layer.forward(x).dispose();
    for (const t of [d, x]) t.dispose();
    layer.dispose();
  });

  it('the op layer refuses inconsistent quantized weights', () => {
    const be = backend();
    const q = quantize4bit(randomF32(64 * 8, 3), [8, 64], { doubleQuant: true });
    const w = toDevice(q, be);
    expect(() => dequantize4bitOp({ ...w, layout: { ...w.layout, shape: [8, 65] } })).toThrow(/packed bytes/);
    expect(() => dequantize4bitOp({ ...w, layout: { ...w.layout, blocksize: 32 } })).toThrow(/absmax/);
    expect(() => dequantize4bitOp({ ...w, nestedAbsmax: null })).toThrow(/nested absmax/);
    expect(() => dequantize4bitOp({ ...w, layout: { ...w.layout, nested: null } })).toThrow(/f32/);
    const x = zeros([2, 63], { backend: be });
    expect(() => matmul4bit(x, w)).toThrow(/last axis/);
    x.dispose();
    free(w);
  });

  it('dequantizeInt8 and the fused matmulInt8 (both orientations, input gradient)', async () => {
    const be = backend();
    const rows = 48;
    const cols = 80;
    const v = randomF32(rows * cols, 21);
    v[3 * cols + 7] = 9;
    const q = quantizeInt8Rowwise(v, rows, cols);
    const want = dequantizeInt8(q);
    const w = {
      weight: tensor(q.weight, [rows, cols], { dtype: 'i8', backend: be }),
      scb: tensor(q.scb, [rows], { backend: be }),
    };
    const d = dequantizeInt8Op(w);
    expect(maxRelErr(await d.data(), want)).toBeLessThanOrEqual(1e-6);
    for (const m of [13, 2]) {
      const xv = randomF32(m * cols, 5);
      const x: Tensor = tensor(xv, [m, cols], { backend: be, requiresGrad: true });
      const y = matmulInt8(x, w);
      expect(scaledErr(await y.data(), product64(xv, want, m, rows, cols, true))).toBeLessThanOrEqual(1e-5);
      const dyv = randomF32(m * rows, 6);
      const dy = tensor(dyv, [m, rows], { backend: be });
      y.backward(dy);
      expect(scaledErr(await x.grad!.data(), product64(dyv, want, m, rows, cols, false))).toBeLessThanOrEqual(1e-5);
      for (const t of [x, y, dy]) t.dispose();
    }
    for (const t of [d, w.weight, w.scb]) t.dispose();
  });
}

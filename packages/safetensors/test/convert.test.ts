import { describe, expect, it } from 'vitest';
import type { SafetensorsDType } from '../src/index.js';
import {
  bf16ToNumber,
  decodeBytes,
  encodeMinifloat,
  f16ToNumber,
  fp8Values,
  numberToBF16,
  numberToF16,
  SafetensorsError,
  SafetensorsReader,
  serialize,
} from '../src/index.js';

/** Reference binary16 decoder written from the IEEE 754 definition (no bit tricks). */
function refHalf(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m === 0 ? s * Number.POSITIVE_INFINITY : Number.NaN;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Reference bfloat16 decoder: the upper half of an f32 bit pattern, through a DataView. */
function refBF16(h: number): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setUint32(0, h << 16);
  return dv.getFloat32(0);
}

function sameValue(a: number, b: number): boolean {
  return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
}

function fileWith(dtype: SafetensorsDType, shape: number[], bytes: Uint8Array): SafetensorsReader {
  return SafetensorsReader.fromBytes(serialize({ t: { dtype, shape, bytes } }));
}

describe('F16 / BF16 → f32 is exact', () => {
  it('all 65536 F16 patterns decode like the IEEE definition (±0, subnormals, inf, NaN)', () => {
    const bytes = new Uint8Array(65536 * 2);
    const dv = new DataView(bytes.buffer);
    for (let h = 0; h < 65536; h++) dv.setUint16(2 * h, h, true);
    const d = fileWith('F16', [65536], bytes).readSync('t').data as Float32Array;
    let bad = 0;
    for (let h = 0; h < 65536; h++) if (!sameValue(d[h]!, refHalf(h)) || !sameValue(f16ToNumber(h), refHalf(h))) bad++;
    expect(bad).toBe(0);
    // named special values
    expect(d[0x0000]).toBe(0);
    expect(Object.is(d[0x8000], -0)).toBe(true);
    expect(d[0x0001]).toBe(2 ** -24); // smallest subnormal
    expect(d[0x03ff]).toBe(1023 * 2 ** -24); // largest subnormal
    expect(d[0x0400]).toBe(2 ** -14); // smallest normal
    expect(d[0x7bff]).toBe(65504);
    expect(d[0x7c00]).toBe(Number.POSITIVE_INFINITY);
    expect(d[0xfc00]).toBe(Number.NEGATIVE_INFINITY);
    expect(Number.isNaN(d[0x7e00])).toBe(true);
    expect(Number.isNaN(d[0xfc01])).toBe(true);
    expect(d[0x3c00]).toBe(1);
    expect(d[0xc000]).toBe(-2);
  });

  it('F16 NaN payloads survive (quiet and signalling)', () => {
    const bytes = new Uint8Array([0x01, 0x7c, 0x00, 0x7e, 0xff, 0xff]);
    const d = fileWith('F16', [3], bytes).readSync('t').data as Float32Array;
    const bits = new Uint32Array(d.buffer, d.byteOffset, 3);
    expect(bits[0]).toBe(0x7f802000);
    expect(bits[1]).toBe(0x7fc00000);
    expect(bits[2]).toBe(0xffffe000);
  });

  it('all 65536 BF16 patterns decode like the upper half of an f32', () => {
    const bytes = new Uint8Array(65536 * 2);
    const dv = new DataView(bytes.buffer);
    for (let h = 0; h < 65536; h++) dv.setUint16(2 * h, h, true);
    const d = fileWith('BF16', [65536], bytes).readSync('t').data as Float32Array;
    let bad = 0;
    for (let h = 0; h < 65536; h++) if (!sameValue(d[h]!, refBF16(h)) || !sameValue(bf16ToNumber(h), refBF16(h))) bad++;
    expect(bad).toBe(0);
    expect(d[0x0001]).toBe(2 ** -133); // smallest subnormal
    expect(Object.is(d[0x8000], -0)).toBe(true);
    expect(d[0x7f80]).toBe(Number.POSITIVE_INFINITY);
    expect(d[0xff80]).toBe(Number.NEGATIVE_INFINITY);
    expect(Number.isNaN(d[0x7fc0])).toBe(true);
    expect(d[0x3f80]).toBe(1);
  });
});

describe('f32 → F16 / BF16 rounds to nearest, ties to even', () => {
  it('every F16 value round-trips and every midpoint between neighbours rounds to the even one', () => {
    let bad = 0;
    for (let h = 0; h < 0x7c00; h++) {
      // positive finite values and their negatives
      for (const s of [0, 0x8000]) {
        const v = refHalf(h | s);
        if (numberToF16(v) !== (h | s)) bad++;
      }
      const a = refHalf(h);
      const b = h + 1 < 0x7c00 ? refHalf(h + 1) : 65536; // the next would-be value (overflow boundary)
      const mid = (a + b) / 2;
      const even = h % 2 === 0 ? h : h + 1;
      if (numberToF16(mid) !== even) bad++;
      const below = mid - (b - a) / 8;
      const above = mid + (b - a) / 8;
      if (numberToF16(below) !== h) bad++;
      if (numberToF16(above) !== h + 1) bad++;
    }
    expect(bad).toBe(0);
    expect(numberToF16(65519.99)).toBe(0x7bff);
    expect(numberToF16(65520)).toBe(0x7c00); // ties to even → overflow to inf
    expect(numberToF16(Number.NEGATIVE_INFINITY)).toBe(0xfc00);
    expect(numberToF16(-0)).toBe(0x8000);
    expect(numberToF16(2 ** -25)).toBe(0); // half of the smallest subnormal: ties to even (0)
    expect(numberToF16(3 * 2 ** -25)).toBe(2);
    expect(numberToF16(Number.NaN) & 0x7c00).toBe(0x7c00);
    expect(numberToF16(Number.NaN) & 0x3ff).not.toBe(0);
  });

  it('BF16 rounding matches the f32 bit trick on random f32 inputs and on ties', () => {
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    let seed = 12345;
    let bad = 0;
    for (let i = 0; i < 20000; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      u[0] = seed;
      if (Number.isNaN(f[0])) continue;
      const bits = u[0]!;
      const expected = ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
      if (numberToBF16(f[0]!) !== expected) bad++;
    }
    expect(bad).toBe(0);
    expect(numberToBF16(1 + 2 ** -8)).toBe(0x3f80); // tie → even
    expect(numberToBF16(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie → even (up)
  });

  it('values written as F16/BF16 read back as the rounded values', () => {
    const vals = [0, -0, 1, -2.5, 0.1, 65504, 1e-7, 3.25159, Number.POSITIVE_INFINITY, Number.NaN];
    const bytes = serialize({
      h: { dtype: 'F16', shape: [vals.length], data: vals },
      b: { dtype: 'BF16', shape: [vals.length], data: vals },
    });
    const r = SafetensorsReader.fromBytes(bytes);
    const h = r.readSync('h').data as Float32Array;
    const b = r.readSync('b').data as Float32Array;
    vals.forEach((v, i) => {
      expect(sameValue(h[i]!, refHalf(numberToF16(v)))).toBe(true);
      expect(sameValue(b[i]!, refBF16(numberToBF16(v)))).toBe(true);
    });
    expect(h[4]).toBe(refHalf(0x2e66)); // 0.1 in half precision
  });
});

describe('FP8 formats', () => {
  it('E4M3 (fn), E5M2 and E8M0 tables', () => {
    const e4 = fp8Values('F8_E4M3');
    expect(e4[0x7e]).toBe(448);
    expect(Number.isNaN(e4[0x7f])).toBe(true);
    expect(Number.isNaN(e4[0xff])).toBe(true);
    expect(e4[0x01]).toBe(2 ** -9);
    expect(e4[0x38]).toBe(1);
    expect(e4[0xb8]).toBe(-1);
    const e5 = fp8Values('F8_E5M2');
    expect(e5[0x7b]).toBe(57344);
    expect(e5[0x7c]).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isNaN(e5[0x7d])).toBe(true);
    expect(e5[0x01]).toBe(2 ** -16);
    expect(e5[0x3c]).toBe(1);
    const e8 = fp8Values('F8_E8M0');
    expect(e8[127]).toBe(1);
    expect(e8[0]).toBe(2 ** -127);
    expect(e8[254]).toBe(2 ** 127);
    expect(Number.isNaN(e8[255])).toBe(true);
  });

  it('every E4M3 and E5M2 value encodes back to itself', () => {
    for (const [dt, E, M, ieee] of [
      ['F8_E4M3', 4, 3, false],
      ['F8_E5M2', 5, 2, true],
    ] as const) {
      const t = fp8Values(dt);
      for (let b = 0; b < 256; b++) {
        if (Number.isNaN(t[b])) continue;
        expect(encodeMinifloat(t[b]!, E, M, ieee)).toBe(b);
      }
    }
    expect(encodeMinifloat(464, 4, 3, false)).toBe(0x7e); // tie between 448 and (NaN-slot) 480 → even → 448
    expect(encodeMinifloat(470, 4, 3, false)).toBe(0x7f); // overflow → NaN (no inf in e4m3fn)
  });
});

describe('conversions the caller asks for', () => {
  const i64 = (vals: bigint[]) => {
    const a = new BigInt64Array(vals);
    return fileWith('I64', [vals.length], new Uint8Array(a.buffer));
  };

  it('I64 → i32 with a range check', () => {
    const ok = i64([0n, -1n, 2147483647n, -2147483648n, 42n]);
    expect(Array.from(ok.readSync('t').data)).toEqual([0, -1, 2147483647, -2147483648, 42]);
    for (const v of [2147483648n, -2147483649n, 2n ** 62n, -(2n ** 63n), 4294967295n]) {
      const err = (() => {
        try {
          i64([1n, v]).readSync('t');
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(SafetensorsError);
      expect((err as SafetensorsError).code).toBe('OUT_OF_RANGE');
      expect((err as SafetensorsError).message).toContain(String(v));
    }
    // to f32 instead: rounded, no error
    expect(i64([2n ** 40n + 1n]).readSync('t', { dtype: 'f32' }).data[0]).toBe(2 ** 40);
  });

  it('U64 / U32 / U16 / I16 / I8 / U8 → i32', () => {
    const u64 = new BigUint64Array([0n, 2147483647n, 2n ** 63n]);
    const r = fileWith('U64', [3], new Uint8Array(u64.buffer));
    expect(() => r.readSync('t')).toThrow(/OUT_OF_RANGE/);
    const u32 = new Uint32Array([1, 0x7fffffff, 0x80000000]);
    expect(() => fileWith('U32', [3], new Uint8Array(u32.buffer)).readSync('t')).toThrow(/OUT_OF_RANGE/);
    expect(Array.from(fileWith('U32', [2], new Uint8Array(u32.buffer, 0, 8)).readSync('t').data)).toEqual([
      1, 0x7fffffff,
    ]);
    const bytes = serialize({
      a: { dtype: 'U16', shape: [2], data: [0, 65535] },
      b: { dtype: 'I16', shape: [2], data: [-32768, 32767] },
      c: { dtype: 'I8', shape: [2], data: [-128, 127] },
      d: { dtype: 'U8', shape: [2], data: [0, 255] },
    });
    const rr = SafetensorsReader.fromBytes(bytes);
    expect(Array.from(rr.readSync('a').data)).toEqual([0, 65535]);
    expect(Array.from(rr.readSync('b').data)).toEqual([-32768, 32767]);
    expect(Array.from(rr.readSync('c').data)).toEqual([-128, 127]);
    expect(Array.from(rr.readSync('d').data)).toEqual([0, 255]);
    expect(rr.readSync('b', { dtype: 'f32' }).data).toEqual(new Float32Array([-32768, 32767]));
  });

  it('F64 → f32 rounds to nearest', () => {
    const vals = [0.1, 1 / 3, 1e300, -1e-300, 2 ** -149 * 0.75, Math.PI];
    const r = SafetensorsReader.fromBytes(serialize({ t: { shape: [6], data: new Float64Array(vals) } }));
    expect(r.info('t').dtype).toBe('F64');
    expect(Array.from(r.readSync('t').data)).toEqual(vals.map(Math.fround));
  });

  it('floats → i32 only when integral; → bool by nonzero (NaN true, -0 false)', () => {
    const r = SafetensorsReader.fromBytes(
      serialize({ ok: { shape: [3], data: [1, -7, 2 ** 30] }, frac: { shape: [2], data: [1, 1.5] } }),
    );
    expect(Array.from(r.readSync('ok', { dtype: 'i32' }).data)).toEqual([1, -7, 2 ** 30]);
    expect(() => r.readSync('frac', { dtype: 'i32' })).toThrow(/BAD_CONVERSION/);
    const big = SafetensorsReader.fromBytes(serialize({ t: { shape: [1], data: [2 ** 31] } }));
    expect(() => big.readSync('t', { dtype: 'i32' })).toThrow(/OUT_OF_RANGE/);
    for (const dtype of ['F32', 'F16', 'BF16', 'F64'] as const) {
      const b = SafetensorsReader.fromBytes(
        serialize({ t: { dtype, shape: [5], data: [0, -0, Number.NaN, 2, -1e-3] } }),
      );
      expect(Array.from(b.readSync('t', { dtype: 'bool' }).data)).toEqual([0, 0, 1, 1, 1]);
    }
  });

  it('BOOL ↔ bool / i32 / f32; nonzero bytes read as true', () => {
    const r = fileWith('BOOL', [4], new Uint8Array([0, 1, 0, 7]));
    expect(r.readSync('t').dtype).toBe('bool');
    expect(Array.from(r.readSync('t').data)).toEqual([0, 1, 0, 1]);
    expect(Array.from(r.readSync('t', { dtype: 'f32' }).data)).toEqual([0, 1, 0, 1]);
    expect(Array.from(r.readSync('t', { dtype: 'i32' }).data)).toEqual([0, 1, 0, 1]);
  });

  it('C64 is raw-only', () => {
    const r = fileWith('C64', [1], new Uint8Array(8));
    expect(r.rawSync('t').bytes.length).toBe(8);
    expect(() => r.readSync('t')).toThrow(/BAD_CONVERSION/);
  });

  it('unaligned in-memory data decodes correctly (copies instead of views)', () => {
    const file = serialize({ t: { shape: [3], data: new Float32Array([1.5, -2, 3]) } });
    const shifted = new Uint8Array(file.length + 1);
    shifted.set(file, 1);
    const r = SafetensorsReader.fromBytes(shifted.subarray(1));
    expect(Array.from(r.readSync('t').data)).toEqual([1.5, -2, 3]);
    const raw = r.rawSync('t');
    expect(raw.bytes.byteOffset % 4).not.toBe(0);
    const f64 = serialize({ t: { shape: [2], data: new Float64Array([0.25, -8]) } });
    const s2 = new Uint8Array(f64.length + 3);
    s2.set(f64, 3);
    expect(Array.from(SafetensorsReader.fromBytes(s2.subarray(3)).readSync('t').data)).toEqual([0.25, -8]);
  });

  it('decodeBytes checks the byte count', () => {
    expect(() => decodeBytes({ name: 'x', dtype: 'F32', size: 2 }, new Uint8Array(7), 'f32')).toThrow(/TRUNCATED/);
  });
});

describe('every dtype round-trips through write and read', () => {
  const cases: [SafetensorsDType, number[]][] = [
    ['F64', [0, -1.5, 1e-300, 1e300]],
    ['F32', [0, -1.5, 3.25, 1e30]],
    ['F16', [0, -1.5, 3.25, 65504]],
    ['BF16', [0, -1.5, 3.25, 2 ** 100]],
    ['I64', [0, -1, 2147483647, -2147483648]],
    ['I32', [0, -1, 2147483647, -2147483648]],
    ['I16', [0, -1, 32767, -32768]],
    ['I8', [0, -1, 127, -128]],
    ['U8', [0, 1, 200, 255]],
    ['U16', [0, 1, 60000, 65535]],
    ['U32', [0, 1, 2000000000, 2147483647]],
    ['U64', [0, 1, 2000000000, 2147483647]],
    ['BOOL', [0, 1, 1, 0]],
    ['F8_E4M3', [0, -1.5, 448, 0.015625]],
    ['F8_E5M2', [0, -1.5, 57344, 2 ** -16]],
  ];
  for (const [dtype, vals] of cases) {
    it(dtype, () => {
      const bytes = serialize({ t: { dtype, shape: [2, 2], data: vals } }, { k: 'v' });
      const r = SafetensorsReader.fromBytes(bytes, { strict: true });
      expect(r.info('t').dtype).toBe(dtype);
      expect(r.info('t').shape).toEqual([2, 2]);
      expect(r.metadata).toEqual({ k: 'v' });
      const target = dtype.startsWith('F') || dtype === 'BF16' ? 'f32' : dtype === 'BOOL' ? 'bool' : 'i32';
      const d = r.readSync('t');
      expect(d.dtype).toBe(target);
      expect(Array.from(d.data)).toEqual(vals.map((v) => (target === 'f32' ? Math.fround(v) : v)));
      // raw → write → identical bytes
      expect(serialize({ t: r.rawSync('t') }, { k: 'v' })).toEqual(bytes);
    });
  }

  it('writer refuses values that do not fit (no silent wrap-around)', () => {
    expect(() => serialize({ t: { dtype: 'U8', shape: [1], data: [256] } })).toThrow(/BAD_ARGUMENT/);
    expect(() => serialize({ t: { dtype: 'I32', shape: [1], data: [1.5] } })).toThrow(/BAD_ARGUMENT/);
    expect(() => serialize({ t: { dtype: 'I64', shape: [1], data: [2 ** 60] } })).toThrow(/BAD_ARGUMENT/);
    expect(() => serialize({ t: { dtype: 'U64', shape: [1], data: [-1n] } })).toThrow(/BAD_ARGUMENT/);
    const big = serialize({ t: { shape: [2], data: new BigInt64Array([2n ** 62n, -(2n ** 63n)]) } });
    const r = SafetensorsReader.fromBytes(big);
    expect(r.info('t').dtype).toBe('I64');
    const raw = r.rawSync('t').bytes;
    expect(Array.from(new BigInt64Array(raw.slice().buffer))).toEqual([2n ** 62n, -(2n ** 63n)]);
  });
});

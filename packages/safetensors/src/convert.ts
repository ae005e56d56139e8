import type { TypedArrayFor } from '@peftjs/tensor';
import { allocBool, allocBytes, allocF32, allocI32 } from './alloc.js';
import type { SafetensorsDType, TargetDType } from './dtypes.js';
import { DTYPES } from './dtypes.js';
import { SafetensorsError } from './errors.js';

/** True on little-endian hosts (all mainstream ones); big-endian hosts byte-swap on read and write. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type Ctor<T> = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number };

function swapInPlace(bytes: Uint8Array, width: number): void {
  for (let i = 0; i < bytes.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

/**
 * A host-order typed view of little-endian file bytes: zero-copy when aligned on a little-endian host, otherwise a
 * copy (never larger than `bytes`).
 */
function view<T>(ctor: Ctor<T>, bytes: Uint8Array, count: number): T {
  const w = ctor.BYTES_PER_ELEMENT;
  if (LITTLE_ENDIAN && bytes.byteOffset % w === 0) return new ctor(bytes.buffer, bytes.byteOffset, count);
  const copy = allocBytes(count * w);
  copy.set(bytes.subarray(0, count * w));
  if (!LITTLE_ENDIAN) swapInPlace(copy, w);
  return new ctor(copy.buffer, 0, count);
}

// ---------------------------------------------------------------------------------------------------------------
// Minifloats → f32 (exact: every F16, BF16 and FP8 value is representable in f32).

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** The f32 bit pattern of an IEEE binary16 value, exactly (subnormals, ±0, ±inf, NaN payloads preserved). */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // inf / NaN
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0; // ±0
  // subnormal: normalise
  let e = 113;
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

/** An IEEE binary16 bit pattern as a number (exact). */
export function f16ToNumber(h: number): number {
  u32Scratch[0] = f16BitsToF32Bits(h & 0xffff);
  return f32Scratch[0]!;
}

/** A bfloat16 bit pattern as a number (exact). */
export function bf16ToNumber(h: number): number {
  u32Scratch[0] = (h & 0xffff) << 16;
  return f32Scratch[0]!;
}

function fp8Table(dtype: 'F8_E5M2' | 'F8_E4M3' | 'F8_E8M0'): Float32Array {
  const t = new Float32Array(256);
  for (let b = 0; b < 256; b++) {
    if (dtype === 'F8_E8M0') {
      t[b] = b === 255 ? Number.NaN : 2 ** (b - 127);
      continue;
    }
    const [E, M, bias] = dtype === 'F8_E5M2' ? [5, 2, 15] : [4, 3, 7];
    const sign = b & 0x80 ? -1 : 1;
    const e = (b >> M) & ((1 << E) - 1);
    const m = b & ((1 << M) - 1);
    let v: number;
    if (dtype === 'F8_E5M2' && e === 31) v = m === 0 ? Number.POSITIVE_INFINITY : Number.NaN;
    else if (dtype === 'F8_E4M3' && e === 15 && m === 7)
      v = Number.NaN; // e4m3fn: no infinities
    else if (e === 0) v = m * 2 ** (1 - bias - M);
    else v = (1 + m / (1 << M)) * 2 ** (e - bias);
    t[b] = sign * v;
  }
  return t;
}

const fp8Tables = new Map<string, Float32Array>();
/** The 256 values of an FP8 format (e4m3fn, e5m2 or e8m0fnu), as f32. */
export function fp8Values(dtype: 'F8_E5M2' | 'F8_E4M3' | 'F8_E8M0'): Float32Array {
  let t = fp8Tables.get(dtype);
  if (!t) {
    t = fp8Table(dtype);
    fp8Tables.set(dtype, t);
  }
  return t;
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding file bytes to f32 / i32 / bool.

/** What to decode: a tensor's dtype, element count, and (for messages) name. */
export interface DecodeInput {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly size: number;
}

/**
 * Convert a tensor's little-endian file bytes to a typed array of `target`.
 *
 * - to `f32`: F16/BF16/FP8 exactly; F64 and 64-bit integers rounded to nearest; BOOL as 0/1.
 * - to `i32`: integers checked (`OUT_OF_RANGE` if a value does not fit); floats only when every value is an integral
 *   number in range (`BAD_CONVERSION` for fractions/NaN/inf, `OUT_OF_RANGE` beyond int32); BOOL as 0/1.
 * - to `bool`: nonzero (including NaN) → 1.
 * C64 converts to nothing (`BAD_CONVERSION`): use the raw bytes.
 *
 * `fresh` says `bytes` is a private buffer that may become the result's storage (zero-copy for F32→f32 and I32→i32);
 * otherwise the result never aliases `bytes`.
 */
export function decodeBytes<T extends TargetDType>(
  input: DecodeInput,
  bytes: Uint8Array,
  target: T,
  fresh = false,
): TypedArrayFor<T> {
  const { dtype, size, name } = input;
  const nbytes = size * DTYPES[dtype].itemsize;
  if (bytes.length !== nbytes) {
    throw new SafetensorsError('TRUNCATED', `tensor ${JSON.stringify(name)}: got ${bytes.length} of ${nbytes} bytes`, {
      tensor: name,
    });
  }
  if (dtype === 'C64') {
    throw new SafetensorsError(
      'BAD_CONVERSION',
      `tensor ${JSON.stringify(name)}: C64 cannot be converted to ${target}`,
      {
        tensor: name,
      },
    );
  }
  switch (target) {
    case 'f32':
      return toF32(input, bytes, fresh) as TypedArrayFor<T>;
    case 'i32':
      return toI32(input, bytes, fresh) as TypedArrayFor<T>;
    case 'bool':
      return toBool(input, bytes) as TypedArrayFor<T>;
    case 'u8':
    case 'i8': {
      // byte storage (quantized weights) is taken as stored, never converted
      if (dtype !== (target === 'u8' ? 'U8' : 'I8')) {
        throw new SafetensorsError('BAD_CONVERSION', `tensor ${JSON.stringify(name)}: ${dtype} is not ${target}`, {
          tensor: name,
        });
      }
      const copy = new Uint8Array(bytes);
      return (target === 'u8' ? copy : new Int8Array(copy.buffer)) as TypedArrayFor<T>;
    }
    default:
      throw new SafetensorsError('BAD_ARGUMENT', `unknown target dtype ${JSON.stringify(target)}`, { tensor: name });
  }
}

/** Same-width copy: reuse `bytes` when allowed and aligned, else copy the bytes into a new array. */
function sameWidth<T extends Float32Array | Int32Array>(
  bytes: Uint8Array,
  size: number,
  fresh: boolean,
  ctor: Ctor<T>,
  alloc: (n: number) => T,
): T {
  if (fresh && LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) return new ctor(bytes.buffer, bytes.byteOffset, size);
  const out = alloc(size);
  const outBytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  outBytes.set(bytes);
  if (!LITTLE_ENDIAN) swapInPlace(outBytes, 4);
  return out;
}

function toF32(input: DecodeInput, bytes: Uint8Array, fresh: boolean): Float32Array {
  const { dtype, size } = input;
  if (dtype === 'F32') return sameWidth(bytes, size, fresh, Float32Array, allocF32);
  const out = allocF32(size);
  switch (dtype) {
    case 'F64': {
      const v = view(Float64Array, bytes, size);
      for (let i = 0; i < size; i++) out[i] = v[i]!;
      break;
    }
    case 'F16': {
      const v = view(Uint16Array, bytes, size);
      const o = new Uint32Array(out.buffer, out.byteOffset, size);
      for (let i = 0; i < size; i++) o[i] = f16BitsToF32Bits(v[i]!);
      break;
    }
    case 'BF16': {
      const v = view(Uint16Array, bytes, size);
      const o = new Uint32Array(out.buffer, out.byteOffset, size);
      for (let i = 0; i < size; i++) o[i] = v[i]! << 16;
      break;
    }
    case 'F8_E4M3':
    case 'F8_E5M2':
    case 'F8_E8M0': {
      const t = fp8Values(dtype);
      for (let i = 0; i < size; i++) out[i] = t[bytes[i]!]!;
      break;
    }
    case 'BOOL':
      for (let i = 0; i < size; i++) out[i] = bytes[i] ? 1 : 0;
      break;
    case 'U8':
      out.set(bytes);
      break;
    case 'I8':
      out.set(view(Int8Array, bytes, size));
      break;
    case 'I16':
      out.set(view(Int16Array, bytes, size));
      break;
    case 'U16':
      out.set(view(Uint16Array, bytes, size));
      break;
    case 'I32':
      out.set(view(Int32Array, bytes, size));
      break;
    case 'U32':
      out.set(view(Uint32Array, bytes, size));
      break;
    case 'I64':
    case 'U64': {
      const w = view(Uint32Array, bytes, 2 * size);
      const signed = dtype === 'I64';
      for (let i = 0; i < size; i++) {
        const lo = w[2 * i]!;
        const hi = signed ? w[2 * i + 1]! | 0 : w[2 * i + 1]!;
        out[i] = hi * 0x100000000 + lo;
      }
      break;
    }
  }
  return out;
}

function rangeError(input: DecodeInput, index: number, value: string): SafetensorsError {
  return new SafetensorsError(
    'OUT_OF_RANGE',
    `tensor ${JSON.stringify(input.name)}: ${input.dtype} value ${value} at index ${index} does not fit in int32`,
    { tensor: input.name },
  );
}

function toI32(input: DecodeInput, bytes: Uint8Array, fresh: boolean): Int32Array {
  const { dtype, size } = input;
  if (dtype === 'I32') return sameWidth(bytes, size, fresh, Int32Array, allocI32);
  if (DTYPES[dtype].kind === 'float') {
    const f = toF32(input, bytes, false);
    const out = allocI32(size);
    for (let i = 0; i < size; i++) {
      const v = f[i]!;
      if (!Number.isInteger(v)) {
        throw new SafetensorsError(
          'BAD_CONVERSION',
          `tensor ${JSON.stringify(input.name)}: ${dtype} value ${v} at index ${i} is not an integer; load it as f32`,
          { tensor: input.name },
        );
      }
      if (v < -0x80000000 || v > 0x7fffffff) throw rangeError(input, i, String(v));
      out[i] = v;
    }
    return out;
  }
  const out = allocI32(size);
  switch (dtype) {
    case 'BOOL':
      for (let i = 0; i < size; i++) out[i] = bytes[i] ? 1 : 0;
      break;
    case 'U8':
      out.set(bytes);
      break;
    case 'I8':
      out.set(view(Int8Array, bytes, size));
      break;
    case 'I16':
      out.set(view(Int16Array, bytes, size));
      break;
    case 'U16':
      out.set(view(Uint16Array, bytes, size));
      break;
    case 'U32': {
      const v = view(Uint32Array, bytes, size);
      for (let i = 0; i < size; i++) {
        const x = v[i]!;
        if (x > 0x7fffffff) throw rangeError(input, i, String(x));
        out[i] = x;
      }
      break;
    }
    case 'I64': {
      const w = view(Int32Array, bytes, 2 * size);
      for (let i = 0; i < size; i++) {
        const lo = w[2 * i]!;
        const hi = w[2 * i + 1]!;
        if (hi !== lo >> 31) throw rangeError(input, i, String(BigInt(hi) * 0x100000000n + BigInt(lo >>> 0)));
        out[i] = lo;
      }
      break;
    }
    case 'U64': {
      const w = view(Uint32Array, bytes, 2 * size);
      for (let i = 0; i < size; i++) {
        const lo = w[2 * i]!;
        const hi = w[2 * i + 1]!;
        if (hi !== 0 || lo > 0x7fffffff) throw rangeError(input, i, String(BigInt(hi) * 0x100000000n + BigInt(lo)));
        out[i] = lo;
      }
      break;
    }
  }
  return out;
}

function toBool(input: DecodeInput, bytes: Uint8Array): Uint8Array {
  const { dtype, size } = input;
  const out = allocBool(size);
  const width = DTYPES[dtype].itemsize;
  if (DTYPES[dtype].kind === 'float') {
    // a float is true unless it is ±0: test the bits (sign bit masked) so NaN counts as true, like torch
    for (let i = 0; i < size; i++) {
      let nz = 0;
      const at = i * width;
      for (let k = 0; k < width; k++) {
        const b = bytes[at + k]!;
        nz |= k === width - 1 ? b & 0x7f : b;
      }
      // FP8 E8M0 has no zero and no sign bit: every value is nonzero
      out[i] = nz !== 0 || dtype === 'F8_E8M0' ? 1 : 0;
    }
    return out;
  }
  for (let i = 0; i < size; i++) {
    let nz = 0;
    const at = i * width;
    for (let k = 0; k < width; k++) nz |= bytes[at + k]!;
    out[i] = nz !== 0 ? 1 : 0;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding values to file bytes.

function pow2(k: number): number {
  return 2 ** k;
}

function roundHalfEven(x: number): number {
  const r = Math.floor(x);
  const d = x - r;
  if (d > 0.5 || (d === 0.5 && r % 2 !== 0)) return r + 1;
  return r;
}

/**
 * Round a number to a binary minifloat with `E` exponent and `M` mantissa bits (round to nearest, ties to even,
 * gradual underflow), returning its bit pattern. `ieee`: the top exponent encodes inf/NaN (F16, BF16, E5M2);
 * otherwise (E4M3 "fn") only all-ones is NaN and overflow gives NaN.
 */
export function encodeMinifloat(x: number, E: number, M: number, ieee: boolean): number {
  const signBit = x < 0 || Object.is(x, -0) ? 1 << (E + M) : 0;
  const expMask = (1 << E) - 1;
  const nan = ieee ? (expMask << M) | (1 << (M - 1)) : (expMask << M) | ((1 << M) - 1);
  if (Number.isNaN(x)) return nan;
  const bias = (1 << (E - 1)) - 1;
  const emin = 1 - bias;
  const maxExp = ieee ? expMask - 1 - bias : expMask - bias;
  const maxMant = ieee ? (1 << M) - 1 : (1 << M) - 2;
  const overflow = ieee ? signBit | (expMask << M) : signBit | nan;
  const a = Math.abs(x);
  if (a === Number.POSITIVE_INFINITY) return overflow;
  if (a < pow2(emin)) return signBit | roundHalfEven(a * pow2(M - emin)); // subnormal (may round up to min normal)
  let e = Math.floor(Math.log2(a));
  if (pow2(e) > a) e--;
  else if (pow2(e + 1) <= a) e++;
  let m = roundHalfEven((a / pow2(e) - 1) * (1 << M));
  if (m === 1 << M) {
    m = 0;
    e++;
  }
  if (e > maxExp || (e === maxExp && m > maxMant)) return overflow;
  return signBit | ((e + bias) << M) | m;
}

/** Round a number to IEEE binary16 bits (nearest, ties to even). */
export function numberToF16(x: number): number {
  return encodeMinifloat(x, 5, 10, true);
}

/** Round a number to bfloat16 bits (nearest, ties to even). */
export function numberToBF16(x: number): number {
  return encodeMinifloat(x, 8, 7, true);
}

/** Element values accepted by the writer: numbers, booleans or bigints, in any array-like (typed arrays included). */
export type TensorValues = ArrayLike<number> | ArrayLike<bigint> | ArrayLike<boolean>;

function badValue(name: string, dtype: SafetensorsDType, i: number, v: unknown): SafetensorsError {
  return new SafetensorsError(
    'BAD_ARGUMENT',
    `tensor ${JSON.stringify(name)}: value ${String(v)} at index ${i} cannot be stored as ${dtype}`,
    { tensor: name },
  );
}

const INT_RANGES: Partial<Record<SafetensorsDType, [number, number]>> = {
  U8: [0, 0xff],
  I8: [-0x80, 0x7f],
  I16: [-0x8000, 0x7fff],
  U16: [0, 0xffff],
  I32: [-0x80000000, 0x7fffffff],
  U32: [0, 0xffffffff],
};

/**
 * Encode element values as little-endian bytes of `dtype`. Floats are rounded to nearest-even (F16, BF16, FP8;
 * E4M3 overflow → NaN). Integers must be exact and in range, otherwise `BAD_ARGUMENT` (no silent wrap-around).
 * F8_E8M0 and C64 accept raw bytes only.
 */
export function encodeValues(name: string, dtype: SafetensorsDType, values: TensorValues): Uint8Array {
  const n = values.length;
  const spec = DTYPES[dtype];
  if (dtype === 'F8_E8M0' || dtype === 'C64') {
    throw new SafetensorsError('BAD_ARGUMENT', `tensor ${JSON.stringify(name)}: give ${dtype} data as raw bytes`, {
      tensor: name,
    });
  }
  const out = new Uint8Array(n * spec.itemsize);
  const dv = new DataView(out.buffer);
  const num = (i: number): number => {
    const v = values[i] as number | bigint | boolean;
    return typeof v === 'boolean' ? (v ? 1 : 0) : Number(v);
  };
  switch (dtype) {
    case 'F32':
      if (values instanceof Float32Array) {
        if (LITTLE_ENDIAN) out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
        else for (let i = 0; i < n; i++) dv.setFloat32(4 * i, values[i]!, true);
      } else for (let i = 0; i < n; i++) dv.setFloat32(4 * i, num(i), true);
      return out;
    case 'F64':
      for (let i = 0; i < n; i++) dv.setFloat64(8 * i, num(i), true);
      return out;
    case 'F16':
      for (let i = 0; i < n; i++) dv.setUint16(2 * i, numberToF16(num(i)), true);
      return out;
    case 'BF16':
      for (let i = 0; i < n; i++) dv.setUint16(2 * i, numberToBF16(num(i)), true);
      return out;
    case 'F8_E5M2':
      for (let i = 0; i < n; i++) out[i] = encodeMinifloat(num(i), 5, 2, true);
      return out;
    case 'F8_E4M3':
      for (let i = 0; i < n; i++) out[i] = encodeMinifloat(num(i), 4, 3, false);
      return out;
    case 'BOOL':
      for (let i = 0; i < n; i++) {
        const v = num(i);
        out[i] = v !== 0 ? 1 : 0; // NaN → true, like torch
      }
      return out;
    case 'I64':
    case 'U64': {
      const [lo, hi] = dtype === 'I64' ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
      for (let i = 0; i < n; i++) {
        const v = values[i] as number | bigint | boolean;
        let b: bigint;
        if (typeof v === 'bigint') b = v;
        else {
          const x = typeof v === 'boolean' ? (v ? 1 : 0) : v;
          if (!Number.isSafeInteger(x)) throw badValue(name, dtype, i, v);
          b = BigInt(x);
        }
        if (b < lo || b > hi) throw badValue(name, dtype, i, v);
        dv.setBigUint64(8 * i, BigInt.asUintN(64, b), true);
      }
      return out;
    }
    default: {
      const [lo, hi] = INT_RANGES[dtype]!;
      for (let i = 0; i < n; i++) {
        const x = num(i);
        if (!Number.isInteger(x) || x < lo || x > hi) throw badValue(name, dtype, i, values[i]);
        switch (spec.itemsize) {
          case 1:
            out[i] = x & 0xff;
            break;
          case 2:
            dv.setUint16(2 * i, x & 0xffff, true);
            break;
          default:
            dv.setUint32(4 * i, x >>> 0, true);
        }
      }
      return out;
    }
  }
}

/** The dtype a typed array (or plain array) of values is written as when the caller names none. */
export function inferDType(values: TensorValues): SafetensorsDType {
  if (values instanceof Float32Array) return 'F32';
  if (values instanceof Float64Array) return 'F64';
  if (values instanceof Int32Array) return 'I32';
  if (values instanceof Int16Array) return 'I16';
  if (values instanceof Int8Array) return 'I8';
  if (values instanceof Uint8Array || values instanceof Uint8ClampedArray) return 'U8';
  if (values instanceof Uint16Array) return 'U16';
  if (values instanceof Uint32Array) return 'U32';
  if (values instanceof BigInt64Array) return 'I64';
  if (values instanceof BigUint64Array) return 'U64';
  if (values.length > 0) {
    const v = values[0];
    if (typeof v === 'boolean') return 'BOOL';
    if (typeof v === 'bigint') return 'I64';
  }
  return 'F32';
}

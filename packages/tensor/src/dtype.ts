/**
 * Element types. `f32`, `i32` and `bool` are computed with by every backend. `u8` and `i8` are byte *storage*
 * types (one byte per element on every backend, packed four to a word on the GPU): quantized weights (packed 4-bit
 * codes, int8 rows, 8-bit scales) are held in them and read only by the kernels that dequantize them
 * ({@link BYTE_KERNELS}); every other op refuses them.
 */
export type DType = 'f32' | 'i32' | 'bool' | 'u8' | 'i8';

/** Element types that later packages may add (listed so that code switching on dtypes stays exhaustive). */
export type ReservedDType = 'f16';

/** The JavaScript array a dtype reads back as. */
export interface DTypeArrayMap {
  f32: Float32Array;
  i32: Int32Array;
  bool: Uint8Array;
  u8: Uint8Array;
  i8: Int8Array;
}
export type TypedArrayFor<D extends DType> = DTypeArrayMap[D];
export type TypedArray = Float32Array | Int32Array | Uint8Array | Int8Array;

/** Bytes per element as stored on a backend (bool is stored as one byte on the CPU, four on WebGPU). */
export const BYTES_PER_ELEMENT: Record<DType, number> = { f32: 4, i32: 4, bool: 1, u8: 1, i8: 1 };

/** Whether `dtype` is a byte storage type (`u8`, `i8`): held compactly, read only by dequantizing kernels. */
export function isByteDType(dtype: DType): dtype is 'u8' | 'i8' {
  return dtype === 'u8' || dtype === 'i8';
}

export function allocTyped(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case 'f32':
      return new Float32Array(size);
    case 'i32':
      return new Int32Array(size);
    case 'bool':
    case 'u8':
      return new Uint8Array(size);
    case 'i8':
      return new Int8Array(size);
  }
}

/** Copy `values` into a fresh typed array of `dtype`, converting numbers (booleans become 0/1). */
export function toTyped(dtype: DType, values: ArrayLike<number | boolean>): TypedArray {
  const out = allocTyped(dtype, values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = typeof v === 'boolean' ? (v ? 1 : 0) : dtype === 'bool' ? (v ? 1 : 0) : (v as number);
  }
  return out;
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'f32';
}

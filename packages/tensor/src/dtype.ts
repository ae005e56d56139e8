/**
 * Element types. `f32`, `i32` and `bool` are implemented by every backend; `f16` and the packed 4-bit type are
 * reserved so that storage formats for half precision and NF4/FP4 quantised weights fit the same model.
 */
export type DType = 'f32' | 'i32' | 'bool';

/** Element types that later packages may add (listed so that code switching on dtypes stays exhaustive). */
export type ReservedDType = 'f16' | 'u4x8';

/** The JavaScript array a dtype reads back as. */
export interface DTypeArrayMap {
  f32: Float32Array;
  i32: Int32Array;
  bool: Uint8Array;
}
export type TypedArrayFor<D extends DType> = DTypeArrayMap[D];
export type TypedArray = Float32Array | Int32Array | Uint8Array;

/** Bytes per element as stored on a backend (bool is stored as one byte on the CPU, four on WebGPU). */
export const BYTES_PER_ELEMENT: Record<DType, number> = { f32: 4, i32: 4, bool: 1 };

export function allocTyped(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case 'f32':
      return new Float32Array(size);
    case 'i32':
      return new Int32Array(size);
    case 'bool':
      return new Uint8Array(size);
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

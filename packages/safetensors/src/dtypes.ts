import type { DType } from '@peftjs/tensor';

/**
 * The safetensors element types this package reads and writes.
 *
 * Hugging Face checkpoints use F64, F32, F16, BF16, I64, I32, I8, U8 and BOOL; the others (I16, U16, U32, U64, the
 * byte-sized FP8 formats and C64) are read and written too. All can be accessed raw ({@link RawTensor}); all but C64
 * convert to f32 (and the integer ones to i32, range-checked).
 */
export type SafetensorsDType =
  | 'BOOL'
  | 'U8'
  | 'I8'
  | 'F8_E5M2'
  | 'F8_E4M3'
  | 'F8_E8M0'
  | 'I16'
  | 'U16'
  | 'F16'
  | 'BF16'
  | 'I32'
  | 'U32'
  | 'F32'
  | 'C64'
  | 'F64'
  | 'I64'
  | 'U64';

/** The dtype a tensor is converted to on load: the element types of `@peftjs/tensor`. */
export type TargetDType = DType;

export interface DTypeSpec {
  /** Bytes per element. */
  readonly itemsize: number;
  /**
   * Position in the reference implementation's `Dtype` enum (huggingface/safetensors, `safetensors/src/tensor.rs`),
   * which is ordered by alignment. The writer sorts tensors by this rank, descending, then by name: the same layout
   * as Python's `safetensors.torch.save_file`.
   */
  readonly rank: number;
  /** What a tensor of this dtype becomes when the caller does not ask for a dtype (undefined: raw access only). */
  readonly defaultTarget: TargetDType | undefined;
  readonly kind: 'float' | 'int' | 'uint' | 'bool' | 'complex';
}

/** Element sizes, sort ranks and default conversions, one entry per supported dtype. */
export const DTYPES: Readonly<Record<SafetensorsDType, DTypeSpec>> = {
  BOOL: { itemsize: 1, rank: 0, defaultTarget: 'bool', kind: 'bool' },
  U8: { itemsize: 1, rank: 1, defaultTarget: 'i32', kind: 'uint' },
  I8: { itemsize: 1, rank: 2, defaultTarget: 'i32', kind: 'int' },
  F8_E5M2: { itemsize: 1, rank: 3, defaultTarget: 'f32', kind: 'float' },
  F8_E4M3: { itemsize: 1, rank: 4, defaultTarget: 'f32', kind: 'float' },
  F8_E8M0: { itemsize: 1, rank: 5, defaultTarget: 'f32', kind: 'float' },
  I16: { itemsize: 2, rank: 6, defaultTarget: 'i32', kind: 'int' },
  U16: { itemsize: 2, rank: 7, defaultTarget: 'i32', kind: 'uint' },
  F16: { itemsize: 2, rank: 8, defaultTarget: 'f32', kind: 'float' },
  BF16: { itemsize: 2, rank: 9, defaultTarget: 'f32', kind: 'float' },
  I32: { itemsize: 4, rank: 10, defaultTarget: 'i32', kind: 'int' },
  U32: { itemsize: 4, rank: 11, defaultTarget: 'i32', kind: 'uint' },
  F32: { itemsize: 4, rank: 12, defaultTarget: 'f32', kind: 'float' },
  C64: { itemsize: 8, rank: 13, defaultTarget: undefined, kind: 'complex' },
  F64: { itemsize: 8, rank: 14, defaultTarget: 'f32', kind: 'float' },
  I64: { itemsize: 8, rank: 15, defaultTarget: 'i32', kind: 'int' },
  U64: { itemsize: 8, rank: 16, defaultTarget: 'i32', kind: 'uint' },
};

/** Safetensors dtypes that exist upstream but that this package refuses (with `UNSUPPORTED_DTYPE`). */
export const UNSUPPORTED_DTYPES: readonly string[] = ['F4', 'F6_E2M3', 'F6_E3M2', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ'];

/** True when `s` names a dtype this package reads and writes. */
export function isSafetensorsDType(s: unknown): s is SafetensorsDType {
  return typeof s === 'string' && Object.hasOwn(DTYPES, s);
}

/** Bytes per element of `dtype`. */
export function itemsize(dtype: SafetensorsDType): number {
  return DTYPES[dtype].itemsize;
}

/** The `@peftjs/tensor` dtype a safetensors dtype loads as by default (floats → f32, integers → i32, BOOL → bool). */
export function defaultTargetDType(dtype: SafetensorsDType): TargetDType | undefined {
  return DTYPES[dtype].defaultTarget;
}

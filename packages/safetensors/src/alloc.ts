import { SafetensorsError } from './errors.js';

/**
 * Every buffer this package allocates whose size depends on file contents goes through here, so that the claim
 * "nothing is allocated from an untrusted size before it was checked against the file size" can be checked: install
 * an observer with {@link setAllocationObserver} and compare each reported size with the input's size.
 */

/** What an allocation is for: file bytes (header, raw tensor data) or a converted typed array. */
export type AllocationKind = 'bytes' | 'f32' | 'i32' | 'bool';

/** Called before each allocation with its kind, its element count and its size in bytes. */
export type AllocationObserver = (kind: AllocationKind, elements: number, bytes: number) => void;

let observer: AllocationObserver | null = null;

/**
 * Install (or with `null` remove) a diagnostic observer of this package's data-dependent allocations; returns the
 * previous observer. Intended for tests and fuzzing.
 */
export function setAllocationObserver(o: AllocationObserver | null): AllocationObserver | null {
  const prev = observer;
  observer = o;
  return prev;
}

function tooLarge(e: unknown, bytes: number): never {
  if (e instanceof RangeError) {
    throw new SafetensorsError(
      'OUT_OF_RANGE',
      `cannot allocate ${bytes} bytes: larger than this JavaScript engine's typed array limit`,
      { cause: e },
    );
  }
  throw e;
}

function make<T>(kind: AllocationKind, n: number, width: number, ctor: new (n: number) => T): T {
  observer?.(kind, n, width * n);
  try {
    return new ctor(n);
  } catch (e) {
    return tooLarge(e, width * n);
  }
}

/** @internal */
export function allocBytes(n: number): Uint8Array {
  return make('bytes', n, 1, Uint8Array);
}

/** @internal */
export function allocF32(n: number): Float32Array {
  return make('f32', n, 4, Float32Array);
}

/** @internal */
export function allocI32(n: number): Int32Array {
  return make('i32', n, 4, Int32Array);
}

/** @internal */
export function allocBool(n: number): Uint8Array {
  return make('bool', n, 1, Uint8Array);
}

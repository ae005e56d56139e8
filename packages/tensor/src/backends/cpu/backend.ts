import type { Backend } from '../../backend.js';
import type { DType, TypedArray } from '../../dtype.js';
import { allocTyped } from '../../dtype.js';
import type { DataId, TensorInfo } from '../../kernels.js';
import type { Shape } from '../../shape.js';
import { sizeOf } from '../../shape.js';
import { heapAllocF32, heapFreeF32, heapOffset } from './wasm-memory.js';

const EMPTY = new Float32Array(0);
/** Arrays below this many elements are cheaper to allocate than to pool. */
const MIN_POOLED = 256;
// Pool keys name the array class, so a dtype only ever gets back an array of the class it allocates (dtypes may
// share a class, e.g. bool and a byte type both on Uint8Array, and may then share arrays).
const poolKey = (v: TypedArray): string => `${v.constructor.name}:${v.length}`;
const classOf = new Map<DType, string>();
const classNameOf = (dtype: DType): string => {
  let c = classOf.get(dtype);
  if (c === undefined) {
    c = allocTyped(dtype, 0).constructor.name;
    classOf.set(dtype, c);
  }
  return c;
};

/**
 * f32 arrays at least this long live on the WebAssembly heap where it is shared (wasm-memory.ts), so that the wasm
 * kernels read and write them in place; smaller ones are cheaper as plain arrays.
 */
const HEAP_MIN_ELEMENTS = 4096;

/** Frees the heap block of a tensor that was never disposed, once the garbage collector reclaims its buffer. */
const heapFinalizer =
  typeof FinalizationRegistry === 'function'
    ? new FinalizationRegistry<[number, number]>(([off, n]) => heapFreeF32(off, n))
    : null;

/** A CPU buffer: a typed array owned by the backend. */
export interface CpuData {
  values: TypedArray;
}

/** The reference backend: TypedArrays on the host; matmul is cache-blocked (WebAssembly SIMD when available). */
export class CpuBackend implements Backend {
  readonly name = 'cpu';
  /**
   * Released arrays by dtype and length, reused for outputs of the same size: a training step allocates the same
   * shapes every step, and recycling them takes the garbage collector (and zeroing fresh pages) off the hot path.
   */
  private readonly free = new Map<string, TypedArray[]>();
  private freeBytes = 0;
  /** Most bytes kept in released arrays for reuse. */
  maxPooledBytes = 256 * 2 ** 20;
  /** Keep large f32 tensors on the WebAssembly heap (where it is shared); false: plain arrays only. */
  useWasmHeap = true;

  /** A new array for a tensor: large f32 ones on the wasm heap where possible. */
  private allocate(dtype: DType, n: number, zeroed: boolean): TypedArray {
    if (dtype === 'f32' && n >= HEAP_MIN_ELEMENTS && this.useWasmHeap) {
      const v = heapAllocF32(n, zeroed);
      if (v) return v;
    }
    return allocTyped(dtype, n);
  }

  /** A buffer over `values`; a heap array's block is freed if the buffer is collected without being released. */
  private wrap(values: TypedArray): CpuData {
    const data: CpuData = { values };
    if (heapFinalizer && values.length >= HEAP_MIN_ELEMENTS) {
      const off = heapOffset(values);
      if (off >= 0) heapFinalizer.register(data, [off, values.length], data);
    }
    return data;
  }

  upload(values: TypedArray, dtype: DType): DataId {
    const copy = this.take(dtype, values.length, false);
    copy.set(values);
    return this.wrap(copy);
  }
  async read(dataId: DataId, dtype: DType, size: number): Promise<TypedArray> {
    return this.readSync(dataId, dtype, size);
  }
  readSync(dataId: DataId, _dtype: DType, _size: number): TypedArray {
    return (dataId as CpuData).values.slice();
  }
  release(dataId: DataId): void {
    const d = dataId as CpuData;
    const v = d.values;
    d.values = EMPTY;
    const heap = v.length >= HEAP_MIN_ELEMENTS ? heapOffset(v) : -1;
    if (heap >= 0) heapFinalizer?.unregister(d);
    if (v.length < MIN_POOLED || this.freeBytes + v.byteLength > this.maxPooledBytes) {
      if (heap >= 0) heapFreeF32(heap, v.length);
      return;
    }
    const k = poolKey(v);
    const list = this.free.get(k);
    if (list) list.push(v);
    else this.free.set(k, [v]);
    this.freeBytes += v.byteLength;
  }
  /** Drop every pooled array (their memory goes back to the garbage collector). */
  purgePool(): void {
    for (const list of this.free.values())
      for (const v of list) {
        const heap = v.length >= HEAP_MIN_ELEMENTS ? heapOffset(v) : -1;
        if (heap >= 0) heapFreeF32(heap, v.length);
      }
    this.free.clear();
    this.freeBytes = 0;
  }
  byteSize(dataId: DataId): number {
    return (dataId as CpuData).values.byteLength;
  }
  async flush(): Promise<void> {}
  destroy(): void {
    this.purgePool();
  }

  /** The values behind a kernel input. */
  values<T extends TypedArray = Float32Array>(t: TensorInfo): T {
    return (t.dataId as CpuData).values as T;
  }
  /** A kernel output of `shape` and `dtype`, with the array to fill (zeroed unless `zeroed` is false). */
  output<T extends TypedArray = Float32Array>(
    shape: Shape,
    dtype: DType,
    /** false: the kernel writes every element, so a reused array need not be zeroed first. */
    zeroed = true,
  ): { out: { dataId: DataId; shape: Shape; dtype: DType }; values: T } {
    const values = this.take(dtype, sizeOf(shape), zeroed) as T;
    return { out: { dataId: this.wrap(values), shape, dtype }, values };
  }

  /** An array of n elements: a released one of the same size, else a new one (zeroed unless `zeroed` is false). */
  private take(dtype: DType, n: number, zeroed: boolean): TypedArray {
    if (n >= MIN_POOLED) {
      const reused = this.free.get(`${classNameOf(dtype)}:${n}`)?.pop();
      if (reused) {
        this.freeBytes -= reused.byteLength;
        if (zeroed) reused.fill(0); // outputs start zeroed, as a fresh allocation does
        return reused;
      }
    }
    return this.allocate(dtype, n, zeroed);
  }
}

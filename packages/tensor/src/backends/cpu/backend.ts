import type { Backend } from '../../backend.js';
import type { DType, TypedArray } from '../../dtype.js';
import { allocTyped } from '../../dtype.js';
import type { DataId, TensorInfo } from '../../kernels.js';
import type { Shape } from '../../shape.js';
import { sizeOf } from '../../shape.js';

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

  upload(values: TypedArray, dtype: DType): DataId {
    const copy = allocTyped(dtype, values.length);
    copy.set(values);
    return { values: copy } satisfies CpuData;
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
    if (v.length < MIN_POOLED || this.freeBytes + v.byteLength > this.maxPooledBytes) return;
    const k = poolKey(v);
    const list = this.free.get(k);
    if (list) list.push(v);
    else this.free.set(k, [v]);
    this.freeBytes += v.byteLength;
  }
  /** Drop every pooled array (their memory goes back to the garbage collector). */
  purgePool(): void {
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
    const n = sizeOf(shape);
    let values: T | undefined;
    if (n >= MIN_POOLED) {
      const reused = this.free.get(`${classNameOf(dtype)}:${n}`)?.pop();
      if (reused) {
        this.freeBytes -= reused.byteLength;
        if (zeroed) reused.fill(0); // outputs start zeroed, as a fresh allocation does
        values = reused as T;
      }
    }
    values ??= allocTyped(dtype, n) as T;
    return { out: { dataId: { values } satisfies CpuData, shape, dtype }, values };
  }
}

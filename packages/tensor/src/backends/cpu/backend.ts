import type { Backend } from '../../backend.js';
import type { DType, TypedArray } from '../../dtype.js';
import { allocTyped } from '../../dtype.js';
import type { DataId, TensorInfo } from '../../kernels.js';
import type { Shape } from '../../shape.js';
import { sizeOf } from '../../shape.js';

/** A CPU buffer: a typed array owned by the backend. */
export interface CpuData {
  values: TypedArray;
}

/** The reference backend: TypedArrays on the host; matmul is cache-blocked (WebAssembly SIMD when available). */
export class CpuBackend implements Backend {
  readonly name = 'cpu';

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
    (dataId as CpuData).values = new Float32Array(0);
  }
  byteSize(dataId: DataId): number {
    return (dataId as CpuData).values.byteLength;
  }
  async flush(): Promise<void> {}
  destroy(): void {}

  /** The values behind a kernel input. */
  values<T extends TypedArray = Float32Array>(t: TensorInfo): T {
    return (t.dataId as CpuData).values as T;
  }
  /** A kernel output of `shape` and `dtype`, with the array to fill. */
  output<T extends TypedArray = Float32Array>(
    shape: Shape,
    dtype: DType,
  ): { out: { dataId: DataId; shape: Shape; dtype: DType }; values: T } {
    const values = allocTyped(dtype, sizeOf(shape)) as T;
    return { out: { dataId: { values } satisfies CpuData, shape, dtype }, values };
  }
}

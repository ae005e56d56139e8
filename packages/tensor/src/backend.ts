import type { DType, TypedArray } from './dtype.js';
import { BackendError } from './errors.js';
import type { DataId, KernelName, KernelSignatures, TensorInfo } from './kernels.js';
import { KERNEL_NAMES } from './kernels.js';
import type { Shape } from './shape.js';

/** What a kernel returns: a buffer it allocated on its backend, with the shape and dtype it holds. */
export interface KernelOutput {
  dataId: DataId;
  shape: Shape;
  dtype: DType;
  /** Further outputs of a kernel that makes several (e.g. AdamW's parameter, m and v). */
  extra?: readonly KernelOutput[];
}

export type KernelImpl<K extends KernelName, B extends Backend = Backend> = (
  backend: B,
  inputs: KernelSignatures[K]['inputs'],
  attrs: KernelSignatures[K]['attrs'],
) => KernelOutput;

/**
 * A compute backend: buffers plus the kernels of {@link KernelSignatures}. Kernels are registered separately
 * ({@link registerKernel}), one file per kernel, so a backend is its storage plus a list of registrations.
 */
export interface Backend {
  readonly name: string;
  /** Copy host values into a new buffer. */
  upload(values: TypedArray, dtype: DType): DataId;
  /** Copy a buffer back to the host. Always async: GPU readback is. */
  read(dataId: DataId, dtype: DType, size: number): Promise<TypedArray>;
  /** Synchronous readback, for backends that can (the CPU); others leave it undefined. */
  readSync?(dataId: DataId, dtype: DType, size: number): TypedArray;
  /** Free a buffer. Called exactly once per buffer, when its last tensor is disposed. */
  release(dataId: DataId): void;
  /** Bytes the backend holds for a buffer (for memory accounting). */
  byteSize(dataId: DataId): number;
  /** Resolve when all work issued so far has finished. */
  flush(): Promise<void>;
  /** Release everything the backend owns (device, workers). */
  destroy(): void | Promise<void>;
}

const kernelRegistry = new Map<string, KernelImpl<KernelName>>();
const key = (backend: string, kernel: string) => `${backend}:${kernel}`;

/** Register `impl` as kernel `name` of backend `backendName`. Registering twice is an error. */
export function registerKernel<K extends KernelName, B extends Backend = Backend>(
  backendName: string,
  name: K,
  impl: KernelImpl<K, B>,
): void {
  const k = key(backendName, name);
  if (kernelRegistry.has(k))
    throw new BackendError(`kernel '${name}' is already registered for backend '${backendName}'`);
  kernelRegistry.set(k, impl as unknown as KernelImpl<KernelName>);
}

export function getKernel<K extends KernelName>(backendName: string, name: K): KernelImpl<K> {
  const impl = kernelRegistry.get(key(backendName, name));
  if (!impl) throw new BackendError(`backend '${backendName}' has no kernel '${name}'`);
  return impl as unknown as KernelImpl<K>;
}

/** Whether backend `backendName` registered kernel `name` (for the optional fused kernels). */
export function hasKernel(backendName: string, name: KernelName): boolean {
  return kernelRegistry.has(key(backendName, name));
}

/** Kernels of the contract that `backendName` has not registered (empty for a complete backend). */
export function missingKernels(backendName: string): KernelName[] {
  return KERNEL_NAMES.filter((n) => !kernelRegistry.has(key(backendName, n)));
}

/**
 * Sees every kernel call with the milliseconds it took on the calling thread (for profiles such as
 * `bench/train-step.ts --kernel-times`). On the CPU that is the kernel's run time; on asynchronous backends such as
 * WebGPU it is the time to record the dispatch, not the GPU's time.
 */
export type KernelObserver = (name: KernelName, inputs: readonly (TensorInfo | undefined)[], ms: number) => void;

let kernelObserver: KernelObserver | null = null;

/** Install (or, with null, remove) the {@link KernelObserver}; without one a kernel call costs nothing extra. */
export function observeKernels(observer: KernelObserver | null): void {
  kernelObserver = observer;
}

export function runKernel<K extends KernelName>(
  backend: Backend,
  name: K,
  inputs: KernelSignatures[K]['inputs'],
  attrs: KernelSignatures[K]['attrs'],
): KernelOutput {
  const impl = getKernel(backend.name, name);
  if (kernelObserver === null) return impl(backend, inputs, attrs);
  const t0 = performance.now();
  const out = impl(backend, inputs, attrs);
  kernelObserver(name, inputs, performance.now() - t0);
  return out;
}

export type { TensorInfo };

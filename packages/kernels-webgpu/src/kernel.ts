import type { KernelImpl, KernelName, TensorInfo } from '@peftjs/tensor';
import type { GPUData, WebGPUBackend } from './backend.js';

/** One WebGPU kernel: its name in the contract and its implementation. */
export interface WebGPUKernel<K extends KernelName = KernelName> {
  name: K;
  impl: KernelImpl<K, WebGPUBackend>;
}

export const webgpuKernel = <K extends KernelName>(name: K, impl: KernelImpl<K, WebGPUBackend>): WebGPUKernel<K> => ({
  name,
  impl,
});

/** The device buffer behind a kernel input. */
export const gpu = (t: TensorInfo): GPUData => t.dataId as GPUData;

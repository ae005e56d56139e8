import type { KernelImpl } from '../../backend.js';
import type { KernelName } from '../../kernels.js';
import type { CpuBackend } from './backend.js';

/** One CPU kernel: its name in the contract and its implementation. */
export interface CpuKernel<K extends KernelName = KernelName> {
  name: K;
  impl: KernelImpl<K, CpuBackend>;
}
export const cpuKernel = <K extends KernelName>(name: K, impl: KernelImpl<K, CpuBackend>): CpuKernel<K> => ({
  name,
  impl,
});

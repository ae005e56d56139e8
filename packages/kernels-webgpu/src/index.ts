/**
 * `@peftjs/kernels-webgpu`: the tensor package's backend interface on WebGPU compute shaders, in Node (Dawn via
 * the `webgpu` package) and in browsers (navigator.gpu).
 *
 * ```ts
 * import { setBackend, tensor } from '@peftjs/tensor';
 * import { registerWebGPUBackend } from '@peftjs/kernels-webgpu';
 * registerWebGPUBackend();
 * await setBackend('webgpu');
 * const y = tensor([[1, 2], [3, 4]]).matmul(tensor([[5], [6]]));
 * console.log(await y.toArray());
 * ```
 * @packageDocumentation
 */

export type { GPUData, WebGPUBackendOptions } from './backend.js';
export { WebGPUBackend } from './backend.js';
export type { RequestDeviceOptions, WebGPUDeviceHandle, WebGPUDeviceReport } from './device.js';
export { formatDeviceReport, RAISED_LIMITS, requestWebGPUDevice, USEFUL_FEATURES } from './device.js';
export type { WebGPUErrorKind } from './errors.js';
export { INSTALL_HINT, WebGPUError, WebGPUUnavailableError } from './errors.js';
export { WEBGPU_KERNELS } from './kernels/index.js';
export type { MatmulDims, MatmulPlan, MatmulVariant } from './kernels/matmul.js';
export { planMatmul, runMatmul, splitPlan } from './kernels/matmul.js';
export type { PoolStats } from './pool.js';
export { BufferPool } from './pool.js';
export type { WebGPUKernel } from './kernel.js';
export { bucketSize } from './pool.js';
export type { BindingSpec, Program, UniformType } from './program.js';
export type { RegisterWebGPUOptions } from './register.js';
export { getWebGPUBackend, registerWebGPUBackend, registerWebGPUKernels } from './register.js';

/**
 * `@peftjs/tensor`: tensors, reverse-mode autograd, the backend interface and a CPU backend.
 *
 * ```ts
 * import { tensor, randn, tidy } from '@peftjs/tensor';
 * const w = randn([4, 3], 0, 1, { requiresGrad: true });
 * const loss = tidy(() => { const l = tensor([[1, 2, 3, 4]]).matmul(w).square().mean(); l.backward(); return l; });
 * console.log(await loss.item(), await w.grad!.toArray());
 * ```
 * @packageDocumentation
 */
import { registerCpuBackend } from './backends/cpu/index.js';

registerCpuBackend();

export { CpuBackend } from './backends/cpu/index.js';
export { Tensor, Storage } from './tensor.js';
export type { NestedArray } from './tensor.js';
export * from './ops/index.js';
export { backward, composite, dispose, hasGradient, keep, record, registerGradient, tidy } from './autograd.js';
export type { SavedValues } from './autograd.js';
export type { GradContext, GradFn, GradNode } from './autograd.js';
export {
  destroyBackend,
  getBackend,
  initBackend,
  isGradEnabled,
  memory,
  noGrad,
  registerBackend,
  setBackend,
} from './engine.js';
export type { BackendFactory, MemoryInfo } from './engine.js';
export {
  getKernel,
  hasKernel,
  type KernelObserver,
  missingKernels,
  observeKernels,
  registerKernel,
  runKernel,
} from './backend.js';
export type { Backend, KernelImpl, KernelOutput } from './backend.js';
export { BYTE_KERNELS, KERNEL_NAMES, OPTIONAL_KERNEL_NAMES, STEP_STATS, STEP_STATS_SIZE } from './kernels.js';
export type {
  AdamWAttrs,
  StepStatsAttrs,
  BinaryOp,
  CompareOp,
  DataId,
  KernelName,
  KernelSignatures,
  Quant4bitLayout,
  ReduceOp,
  TensorInfo,
  UnaryGradOp,
  UnaryOp,
} from './kernels.js';
export { BYTES_PER_ELEMENT, allocTyped, isByteDType, isFloat, toTyped } from './dtype.js';
export type { DType, DTypeArrayMap, ReservedDType, TypedArray, TypedArrayFor } from './dtype.js';
export { BackendError, DisposedError, DTypeError, GradError, KernelError, ShapeError, TensorError } from './errors.js';
export { broadcastShapes, broadcastStrides, normAxes, normAxis, shapesEqual, sizeOf, stridesOf } from './shape.js';
export type { Shape } from './shape.js';
export {
  Generator,
  getDefaultGenerator,
  kaimingUniform,
  manualSeed,
  randint,
  randn,
  randomBitsAt,
  uniform,
  uniformAt,
} from './random.js';
export type { RandomOptions } from './random.js';
export { MT19937, RANDPERM_SMALL_LIMIT, torchRandperm } from './torch-random.js';
export { erf, relMaxError } from './math.js';
export type { CpuThreading } from './backends/cpu/gemm-wasm.js';
export { cpuThreading } from './backends/cpu/gemm-wasm.js';
export { cpuSimdElementwiseAvailable, setCpuSimdElementwise } from './backends/cpu/simd.js';

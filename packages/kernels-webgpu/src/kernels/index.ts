import { registerKernel } from '@peftjs/tensor';
import type { WebGPUKernel } from '../kernel.js';
import { argmax } from './argmax.js';
import { binary } from './binary.js';
import { broadcastTo } from './broadcastTo.js';
import { cast } from './cast.js';
import { compare } from './compare.js';
import { concat } from './concat.js';
import { crossEntropy } from './crossEntropy.js';
import { crossEntropyGrad } from './crossEntropyGrad.js';
import { fill } from './fill.js';
import { gather } from './gather.js';
import { matmul } from './matmul.js';
import { padSlice } from './padSlice.js';
import { dequantize4bit, dequantizeInt8, matmul4bit, matmulInt8 } from './quant.js';
import { randomUniform } from './randomUniform.js';
import { reduce } from './reduce.js';
import { scatterAdd } from './scatterAdd.js';
import { slice } from './slice.js';
import { softmax } from './softmax.js';
import { softmaxGrad } from './softmaxGrad.js';
import { transpose } from './transpose.js';
import { unary } from './unary.js';
import { unaryGrad } from './unaryGrad.js';
import { where } from './where.js';

/** Every kernel of the contract, one file each. */
export const WEBGPU_KERNELS: WebGPUKernel[] = [
  argmax,
  binary,
  broadcastTo,
  cast,
  compare,
  concat,
  crossEntropy,
  crossEntropyGrad,
  fill,
  gather,
  matmul,
  padSlice,
  randomUniform,
  reduce,
  scatterAdd,
  slice,
  softmax,
  softmaxGrad,
  transpose,
  unary,
  unaryGrad,
  where,
  dequantize4bit,
  matmul4bit,
  dequantizeInt8,
  matmulInt8,
] as WebGPUKernel[];

let kernelsRegistered = false;

/**
 * Register the kernels under backend name 'webgpu' (once per copy of the tensor package's registry). Called by
 * registerWebGPUBackend() and by the WebGPUBackend constructor.
 */
export function registerWebGPUKernels(): void {
  if (kernelsRegistered) return;
  kernelsRegistered = true;
  for (const k of WEBGPU_KERNELS) {
    try {
      registerKernel('webgpu', k.name, k.impl as never);
    } catch (e) {
      // another copy of this module registered them in the same registry
      if (!/already registered/.test((e as Error).message)) throw e;
    }
  }
}

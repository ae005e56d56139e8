import { registerKernel } from '@peftjs/tensor';
import type { WebGPUKernel } from '../kernel.js';
import { adamw } from './adamw.js';
import { addScaled } from './addScaled.js';
import { argmax } from './argmax.js';
import { binary } from './binary.js';
import { broadcastTo } from './broadcastTo.js';
import { cast } from './cast.js';
import { compare } from './compare.js';
import { concat } from './concat.js';
import { crossEntropy } from './crossEntropy.js';
import { crossEntropyGrad } from './crossEntropyGrad.js';
import { dropout } from './dropout.js';
import { fill } from './fill.js';
import { gather } from './gather.js';
import { layerNorm } from './layerNorm.js';
import { layerNormGrad } from './layerNormGrad.js';
import { maskedSoftmax } from './maskedSoftmax.js';
import { maskedSoftmaxGrad } from './maskedSoftmaxGrad.js';
import { matmul } from './matmul.js';
import { padSlice } from './padSlice.js';
import { dequantize4bit, dequantizeInt8, matmul4bit, matmulInt8 } from './quant.js';
import { randomUniform } from './randomUniform.js';
import { reduce } from './reduce.js';
import { rmsNorm } from './rmsNorm.js';
import { rmsNormGrad } from './rmsNormGrad.js';
import { rotary } from './rotary.js';
import { scatterAdd } from './scatterAdd.js';
import { siluMul } from './siluMul.js';
import { siluMulGrad } from './siluMulGrad.js';
import { slice } from './slice.js';
import { softmax } from './softmax.js';
import { softmaxGrad } from './softmaxGrad.js';
import { stepStats } from './stepStats.js';
import { sumSquares } from './sumSquares.js';
import { topk } from './topk.js';
import { transpose } from './transpose.js';
import { unary } from './unary.js';
import { unaryGrad } from './unaryGrad.js';
import { where } from './where.js';

/** Every kernel of the contract and the optional fused ones, one file each. */
export const WEBGPU_KERNELS: WebGPUKernel[] = [
  adamw,
  addScaled,
  argmax,
  binary,
  broadcastTo,
  cast,
  compare,
  concat,
  crossEntropy,
  crossEntropyGrad,
  dropout,
  fill,
  gather,
  layerNorm,
  layerNormGrad,
  maskedSoftmax,
  maskedSoftmaxGrad,
  matmul,
  padSlice,
  randomUniform,
  reduce,
  rmsNorm,
  rmsNormGrad,
  rotary,
  scatterAdd,
  siluMul,
  siluMulGrad,
  slice,
  softmax,
  softmaxGrad,
  stepStats,
  sumSquares,
  topk,
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
 * Register the kernels (the contract's and the optional fused ones) under backend name 'webgpu' (once per copy of the
 * tensor package's registry). Called by
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

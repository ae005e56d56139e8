import { registerKernel } from '../../backend.js';
import { engine, registerBackend } from '../../engine.js';
import { CpuBackend } from './backend.js';
import type { CpuKernel } from './kernel.js';
import { adamw } from './kernels/adamw.js';
import { addScaled } from './kernels/addScaled.js';
import { argmax } from './kernels/argmax.js';
import { binary } from './kernels/binary.js';
import { broadcastTo } from './kernels/broadcastTo.js';
import { cast } from './kernels/cast.js';
import { compare } from './kernels/compare.js';
import { concat } from './kernels/concat.js';
import { crossEntropy } from './kernels/crossEntropy.js';
import { crossEntropyGrad } from './kernels/crossEntropyGrad.js';
import { doraCombine } from './kernels/doraCombine.js';
import { doraCombineGrad } from './kernels/doraCombineGrad.js';
import { dropout } from './kernels/dropout.js';
import { fill } from './kernels/fill.js';
import { gather } from './kernels/gather.js';
import { layerNorm } from './kernels/layerNorm.js';
import { layerNormGrad } from './kernels/layerNormGrad.js';
import { maskedSoftmax } from './kernels/maskedSoftmax.js';
import { maskedSoftmaxGrad } from './kernels/maskedSoftmaxGrad.js';
import { matmul } from './kernels/matmul.js';
import { padSlice } from './kernels/padSlice.js';
import { dequantize4bit, dequantizeInt8, matmul4bit, matmulInt8 } from './kernels/quant.js';
import { randomUniform } from './kernels/randomUniform.js';
import { reduce } from './kernels/reduce.js';
import { rmsNorm } from './kernels/rmsNorm.js';
import { rmsNormGrad } from './kernels/rmsNormGrad.js';
import { rotary } from './kernels/rotary.js';
import { scatterAdd } from './kernels/scatterAdd.js';
import { siluMul } from './kernels/siluMul.js';
import { siluMulGrad } from './kernels/siluMulGrad.js';
import { siluMulGradPair } from './kernels/siluMulGradPair.js';
import { matmulCausal } from './kernels/matmulCausal.js';
import { slice } from './kernels/slice.js';
import { softmax } from './kernels/softmax.js';
import { softmaxGrad } from './kernels/softmaxGrad.js';
import { stepStats } from './kernels/stepStats.js';
import { sumSquares } from './kernels/sumSquares.js';
import { topk } from './kernels/topk.js';
import { transpose } from './kernels/transpose.js';
import { unary } from './kernels/unary.js';
import { unaryGrad } from './kernels/unaryGrad.js';
import { where } from './kernels/where.js';

const CPU_KERNELS: CpuKernel[] = [
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
  doraCombine,
  doraCombineGrad,
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
  siluMulGradPair,
  matmulCausal,
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
] as CpuKernel[];

let registered = false;
/** Register the CPU backend and its kernels (idempotent; done on import of the package). */
export function registerCpuBackend(): void {
  if (registered) return;
  registered = true;
  for (const k of CPU_KERNELS) registerKernel('cpu', k.name, k.impl as never);
  registerBackend('cpu', () => new CpuBackend(), 0);
  // The CPU backend needs no async start-up, so it is ready (and the default) as soon as the package loads.
  engine.instances.set('cpu', new CpuBackend());
}

export { CpuBackend };

/** Quantized memory on WebGPU (Dawn; lavapipe in CI). No adapter: the suite FAILS, it never skips. */
import { registerWebGPUBackend } from '@peftjs/kernels-webgpu';
import { type Backend, destroyBackend, initBackend } from '@peftjs/tensor';
import { afterAll, beforeAll, describe } from 'vitest';
import { memorySuite } from './memory-suite.js';

let gpu: Backend;
beforeAll(async () => {
  registerWebGPUBackend();
  gpu = await initBackend('webgpu');
}, 120_000);
afterAll(async () => {
  await destroyBackend('webgpu');
});

describe('quantized memory on the WebGPU backend', () => memorySuite(() => gpu));

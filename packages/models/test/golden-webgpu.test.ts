/**
 * The golden checks of golden-base.test.ts and golden-inputs.test.ts, unchanged, on the WebGPU backend (Dawn in
 * Node; lavapipe in CI). If no WebGPU adapter can be had, starting the backend throws and these tests FAIL (they
 * never skip).
 */
import { registerWebGPUBackend } from '@peftjs/kernels-webgpu';
import { type Backend, destroyBackend, initBackend } from '@peftjs/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBaseCase, TOL } from './helpers/golden.js';
import { describeInputCases } from './helpers/golden-inputs.js';

let backend: Backend;
beforeAll(async () => {
  registerWebGPUBackend();
  backend = await initBackend('webgpu');
}, 120_000);
afterAll(async () => {
  await destroyBackend('webgpu');
});

describe('golden base models (WebGPU): logits, loss and every parameter gradient match Hugging Face', () => {
  for (const arch of ['llama', 'bert', 'gpt2'] as const) {
    it(arch, async () => {
      const r = await runBaseCase(arch, backend);
      console.log(
        `[golden webgpu] ${arch}: logits ${r.logits.toExponential(2)}, loss ${r.loss.toExponential(2)}, ` +
          `grads ${r.grad.max.toExponential(2)} (worst ${r.grad.worst}, ${r.grad.count} params)`,
      );
      expect(r.logits).toBeLessThanOrEqual(TOL.logits);
      expect(r.loss).toBeLessThanOrEqual(TOL.loss);
      expect(r.grad.max).toBeLessThanOrEqual(TOL.grad);
    });
  }
});

describeInputCases('webgpu', () => backend);

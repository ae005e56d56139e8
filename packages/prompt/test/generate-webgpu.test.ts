/**
 * Decoding on the WebGPU backend (Dawn in Node; lavapipe in CI): with the KV cache it gives the tokens of
 * recomputing the sequence, and the tokens the CPU backend gives, for the base model and for LoRA, prefix-tuning and
 * prompt-tuning adapters. Without a WebGPU adapter the backend fails to start and these tests FAIL (never skip).
 */
import { join } from 'node:path';
import '@peftjs/lora';
import { registerWebGPUBackend } from '@peftjs/kernels-webgpu';
import { generate, type PreTrainedModel } from '@peftjs/models';
import { fromPretrained } from '@peftjs/models/node';
import { loadPeftModel } from '@peftjs/registry/node';
import { type Backend, destroyBackend, initBackend } from '@peftjs/tensor';
import { goldenRoot } from '@peftjs/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../src/index.js';

let backend: Backend;
beforeAll(async () => {
  registerWebGPUBackend();
  backend = await initBackend('webgpu');
}, 120_000);
afterAll(async () => {
  await destroyBackend('webgpu');
});

const ids = [
  [5, 17, 99, 3, 42, 8, 61],
  [11, 4, 90, 23, 77, 6, 50],
];
const baseDir = join(goldenRoot(), 'base', 'llama');

describe('generate (WebGPU)', () => {
  for (const adapter of [null, 'llama_lora_qv', 'llama_prefix', 'llama_prompt']) {
    it(adapter ?? 'base model', async () => {
      const run = async (b?: Backend) => {
        const base = await fromPretrained<PreTrainedModel>(baseDir, { backend: b });
        base.eval();
        const model = adapter ? await loadPeftModel(base, join(goldenRoot(), adapter, 'adapter')) : base;
        const cached = await generate(model, ids, { maxNewTokens: 6 });
        const recomputed = b ? await generate(model, ids, { maxNewTokens: 6, useCache: false }) : null;
        model.dispose();
        return { cached, recomputed };
      };
      const gpu = await run(backend);
      const cpu = await run();
      expect(gpu.cached).toEqual(gpu.recomputed);
      expect(gpu.cached).toEqual(cpu.cached);
    });
  }
});

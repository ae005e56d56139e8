/**
 * The same training code on the WebGPU backend (Dawn in Node; lavapipe in CI): a few steps of a tiny LLaMA + LoRA
 * (with LoRA dropout: the counter-based masks are identical across backends) give the CPU's losses within 1e-4.
 * If no WebGPU adapter can be had, starting the backend throws and this suite FAILS (it never skips).
 */
import { registerWebGPUBackend } from '@peftjs/kernels-webgpu';
import { type Backend, destroyBackend, initBackend, memory } from '@peftjs/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Trainer, type TrainResult } from '../src/index.js';
import { maxRelErr } from './helpers/refs.js';
import { tinyData, tinyLoraLlama } from './helpers/tiny.js';

let gpu: Backend;
beforeAll(async () => {
  registerWebGPUBackend();
  gpu = await initBackend('webgpu');
}, 120_000);
afterAll(async () => {
  await destroyBackend('webgpu');
});

async function run(backend: Backend): Promise<{ result: TrainResult; weights: Record<string, Float32Array> }> {
  const peft = tinyLoraLlama({ loraDropout: 0.1, backend });
  expect(peft.parameters().every((p) => p.backend === backend)).toBe(true);
  const result = await new Trainer({
    model: peft,
    train: tinyData(8, 10, { ragged: true }),
    eval: tinyData(4, 8, { offset: 3 }),
    evalEvery: 3,
    batchSize: 2,
    gradAccumSteps: 2,
    maxSteps: 3,
    lr: 1e-2,
    seed: 9,
    progress: false,
  }).train();
  const weights: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(peft.adapterStateDict())) weights[k] = (await t.data()) as Float32Array;
  peft.dispose();
  return { result, weights };
}

describe('training on WebGPU matches CPU', () => {
  it('losses, gradient norms, eval and adapter weights within 1e-4', async () => {
    const cpu = await run(await initBackend('cpu'));
    const before = memory().byBackend.webgpu?.bytes ?? 0;
    const web = await run(gpu);
    const l1 = cpu.result.history.map((h) => h.loss);
    const l2 = web.result.history.map((h) => h.loss);
    console.log(
      `[trainer webgpu] cpu losses ${l1.map((x) => x.toPrecision(9))}, webgpu ${l2.map((x) => x.toPrecision(9))}`,
    );
    expect(l2).toHaveLength(3);
    for (let i = 0; i < 3; i++) {
      expect(Math.abs(l2[i] - l1[i])).toBeLessThan(1e-4);
      expect(Math.abs(web.result.history[i].gradNorm! - cpu.result.history[i].gradNorm!)).toBeLessThan(1e-4);
    }
    expect(Math.abs(web.result.evals[0].loss - cpu.result.evals[0].loss)).toBeLessThan(1e-4);
    expect(web.result.evals[0].accuracy).toBe(cpu.result.evals[0].accuracy);
    for (const k of Object.keys(cpu.weights)) expect(maxRelErr(web.weights[k], cpu.weights[k]), k).toBeLessThan(1e-4);
    // peak tensor memory counts the GPU buffers
    expect(web.result.peakTensorBytes).toBeGreaterThan(before);
  });
});

/**
 * GPU memory is freed explicitly (Backend.release via dispose/tidy), never by GC: a training loop of a small MLP
 * keeps the live tensors, buffers and bytes flat, and the pool stops creating buffers once it is warm.
 */
import * as T from '@peftjs/tensor';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { WebGPUBackend } from '../src/index.js';
import { randomInts, randomValues } from './helpers.js';
import { startWebGPU, stopWebGPU } from './setup.js';

let be: WebGPUBackend;
beforeAll(async () => {
  be = await startWebGPU();
});
afterAll(stopWebGPU);

it('a forward/backward/update loop leaves live GPU buffers and bytes flat', async () => {
  const opts = { backend: be };
  let w1 = T.tensor(randomValues(16 * 32, 1, -0.3, 0.3), [32, 16], opts);
  let b1 = T.zeros([32], opts);
  let w2 = T.tensor(randomValues(32 * 5, 2, -0.3, 0.3), [5, 32], opts);
  const x = T.tensor(randomValues(24 * 16, 3), [24, 16], opts);
  const y = T.tensor(randomInts(24, 4, 0, 5), [24], { ...opts, dtype: 'i32' });
  const losses: number[] = [];

  const step = async (): Promise<void> => {
    for (const p of [w1, b1, w2]) p.requiresGrad = true;
    const loss = T.tidy(() => {
      const h = T.gelu(T.linear(x, w1, b1));
      const d = T.dropout(h, 0.1, { generator: new T.Generator(losses.length) });
      const l = T.crossEntropy(T.linear(d, w2), y);
      l.backward();
      return l;
    });
    const next = T.noGrad(() => T.tidy(() => [w1, b1, w2].map((p) => T.sub(p, T.mul(p.grad!, 0.5)))));
    for (const p of [w1, b1, w2]) p.dispose(); // also frees .grad
    [w1, b1, w2] = next;
    losses.push(await loss.item());
    loss.dispose();
  };

  for (let i = 0; i < 3; i++) await step(); // warm the pipeline cache and the pool
  await be.flush();
  const mem0 = T.memory();
  const pool0 = be.stats();
  for (let i = 0; i < 15; i++) await step();
  await be.flush();
  const mem1 = T.memory();
  const pool1 = be.stats();

  expect(mem1.tensors).toBe(mem0.tensors);
  expect(mem1.byBackend.webgpu).toEqual(mem0.byBackend.webgpu);
  expect(pool1.liveBuffers).toBe(pool0.liveBuffers);
  expect(pool1.liveBytes).toBe(pool0.liveBytes);
  expect(pool1.pendingBuffers).toBe(0);
  // warm pool: the 15 steps (hundreds of dispatches) were served from it
  expect(pool1.created - pool0.created).toBeLessThanOrEqual(2);
  expect(pool1.reused - pool0.reused).toBeGreaterThan(100);
  // and the loop trained
  expect(losses[losses.length - 1]).toBeLessThan(losses[0]);

  T.dispose([w1, b1, w2, x, y]);
  await be.flush();
  expect(T.memory().byBackend.webgpu).toEqual({ buffers: 0, bytes: 0 });
  expect(be.stats().liveBuffers).toBe(0);
});

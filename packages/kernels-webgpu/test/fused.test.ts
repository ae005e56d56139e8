import * as T from '@peftjs/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from '../src/index.js';
import { put, randomValues, relError } from './helpers.js';
import { startWebGPU, stopWebGPU } from './setup.js';

let be: WebGPUBackend;
let cpu: T.Backend;

beforeAll(async () => {
  be = await startWebGPU();
  cpu = await T.initBackend('cpu');
  await T.setBackend('cpu');
});
afterAll(stopWebGPU);

interface Input {
  shape: number[];
  /** Track a gradient (else frozen, as the base weights of PEFT training). */
  grad: boolean;
  lo?: number;
  hi?: number;
}

/**
 * Run `op` forward and backward (seeded with a fixed dy) on the GPU and on the CPU (whose fused kernels equal the
 * compositions bit for bit): the dispatches each way, and the GPU's values and gradients against the CPU's.
 */
async function fusedOnGpu(
  inputs: Input[],
  op: (x: T.Tensor[]) => T.Tensor,
  seed: number,
): Promise<{ forward: number; backward: number; errors: number[] }> {
  const values = inputs.map((s, i) =>
    randomValues(
      s.shape.reduce((a, b) => a * b, 1),
      seed + i,
      s.lo,
      s.hi,
    ),
  );
  const run = (b: T.Backend) => {
    const xs = inputs.map((s, i) => {
      const t = put(b, { values: values[i], shape: s.shape });
      t.requiresGrad = s.grad;
      return t;
    });
    const d0 = be.dispatchCount;
    const y = op(xs);
    const d1 = be.dispatchCount;
    const dy = put(b, { values: randomValues(y.size, seed + 99), shape: [...y.shape] });
    y.backward(dy);
    const d2 = be.dispatchCount;
    return { xs, y, dy, forward: d1 - d0, backward: d2 - d1 };
  };
  const g = run(be);
  const c = run(cpu);
  const errors = [relError(await g.y.data(), await c.y.data())];
  for (let i = 0; i < inputs.length; i++) {
    if (!inputs[i].grad) continue;
    errors.push(relError(await g.xs[i].grad!.data(), await c.xs[i].grad!.data()));
  }
  T.dispose([g.xs, g.y, g.dy, c.xs, c.y, c.dy, g.xs.map((t) => t.grad), c.xs.map((t) => t.grad)]);
  return { forward: g.forward, backward: g.backward, errors };
}

// Summed in f32 over a workgroup tree on the GPU, in float64 on the CPU: a few ulps apart.
const TIGHT = 2e-6;

describe('fused kernels: one dispatch each way, values as on the CPU', () => {
  it('rmsNorm with a frozen weight: 1 forward, 1 backward (no dw work)', async () => {
    const r = await fusedOnGpu(
      [
        { shape: [2, 5, 160], grad: true },
        { shape: [160], grad: false, lo: 0.5, hi: 1.5 },
      ],
      ([x, w]) => T.rmsNorm(x, w, 1e-5),
      1,
    );
    expect([r.forward, r.backward]).toEqual([1, 1]);
    for (const e of r.errors) expect(e).toBeLessThan(TIGHT);
  });

  it('rmsNorm with a trainable weight: dw reduced over the rows as well', async () => {
    const r = await fusedOnGpu(
      [
        { shape: [3, 70], grad: true },
        { shape: [70], grad: true, lo: 0.5, hi: 1.5 },
      ],
      ([x, w]) => T.rmsNorm(x, w),
      2,
    );
    expect(r.forward).toBe(1);
    for (const e of r.errors) expect(e).toBeLessThan(TIGHT);
  });

  it('layerNorm with frozen weight and bias: 1 forward, 1 backward', async () => {
    const r = await fusedOnGpu(
      [
        { shape: [4, 3, 96], grad: true, lo: 1, hi: 3 },
        { shape: [96], grad: false, lo: 0.5, hi: 1.5 },
        { shape: [96], grad: false },
      ],
      ([x, w, b]) => T.layerNorm(x, w, b),
      3,
    );
    expect([r.forward, r.backward]).toEqual([1, 1]);
    for (const e of r.errors) expect(e).toBeLessThan(TIGHT);
  });

  it('layerNorm with trainable weight and bias', async () => {
    const r = await fusedOnGpu(
      [
        { shape: [5, 40], grad: true },
        { shape: [40], grad: true },
        { shape: [40], grad: true },
      ],
      ([x, w, b]) => T.layerNorm(x, w, b, 1e-6),
      4,
    );
    expect(r.forward).toBe(1);
    for (const e of r.errors) expect(e).toBeLessThan(TIGHT);
  });

  it('applyRotary with constant tables: 1 forward, 1 backward', async () => {
    const r = await fusedOnGpu(
      [
        { shape: [2, 3, 7, 16], grad: true },
        { shape: [7, 16], grad: false },
        { shape: [7, 16], grad: false },
      ],
      ([x, c, s]) => T.applyRotary(x, c, s),
      5,
    );
    expect([r.forward, r.backward]).toEqual([1, 1]);
    for (const e of r.errors) expect(e).toBeLessThan(TIGHT);
  });

  it('applyRotaryHeads (split heads + rotary, LLaMA q/k): 1 forward, 1 backward, no transpose copies', async () => {
    const r = await fusedOnGpu(
      [
        { shape: [2, 7, 4 * 16], grad: true },
        { shape: [7, 16], grad: false },
        { shape: [7, 16], grad: false },
      ],
      ([x, c, s]) => T.applyRotaryHeads(x, 4, c, s),
      8,
    );
    expect([r.forward, r.backward]).toEqual([1, 1]);
    for (const e of r.errors) expect(e).toBeLessThan(TIGHT);
  });

  it('siluMul: 1 forward, 2 backward (d gate, d up)', async () => {
    const r = await fusedOnGpu(
      [
        { shape: [6, 50], grad: true, lo: -6, hi: 6 },
        { shape: [6, 50], grad: true },
      ],
      ([g, u]) => T.siluMul(g, u),
      6,
    );
    expect([r.forward, r.backward]).toEqual([1, 2]);
    for (const e of r.errors) expect(e).toBeLessThan(TIGHT);
  });

  it('addScaled: 1 forward, 1 backward (the base takes dy as it is)', async () => {
    const r = await fusedOnGpu(
      [
        { shape: [9, 33], grad: true },
        { shape: [9, 33], grad: true },
      ],
      ([b, x]) => T.addScaled(b, x, 2.5),
      7,
    );
    expect([r.forward, r.backward]).toEqual([1, 1]);
    for (const e of r.errors) expect(e).toBeLessThan(TIGHT);
  });

  it('doraCombine: composed on the GPU (no fused kernel here), values as the CPU fused kernels', async () => {
    expect(T.hasKernel('webgpu', 'doraCombine')).toBe(false);
    for (const frozenBase of [false, true]) {
      const r = await fusedOnGpu(
        [
          { shape: [3, 7, 33], grad: true },
          { shape: [3, 7, 33], grad: !frozenBase },
          { shape: [3, 7, 33], grad: true },
          { shape: [33], grad: true, lo: 0.5, hi: 1.5 },
        ],
        ([res, b, l, sc]) => T.doraCombine(res, b, l, sc, 2),
        8,
      );
      for (const e of r.errors) expect(e).toBeLessThan(TIGHT);
    }
  });
});

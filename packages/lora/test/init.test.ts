/**
 * Initialisation (reference doc §2.4): init_lora_weights=true → A ~ kaiming_uniform(a=√5) = U(±1/√in), B = 0 (so
 * the model starts as the base model exactly); "gaussian" → A ~ N(0, (1/r)²); Embedding → A = 0, B ~ N(0, 1);
 * false → B ~ U(±1/√r) (not a no-op).
 */

import { Conv1D, Embedding, Linear } from '@peftjs/nn';
import { tensor } from '@peftjs/tensor';
import { describe, expect, it } from 'vitest';
import { getPeftModel, type LoraLayer } from '../src/index.js';
import { conv1d, expectClose, f64, linear, rand, tree } from '@peftjs/test-utils';

function stats(v: number[]) {
  const n = v.length;
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
  return { n, mean, std: Math.sqrt(variance), maxAbs: Math.max(...v.map(Math.abs)) };
}

describe('init_lora_weights = true (default)', () => {
  it('B is zero, so the adapted model equals the base model exactly', () => {
    const net = tree({ proj: new Linear(6, 5), c: new Conv1D(6, 5) });
    const W = f64(net.at('proj').param('weight'));
    const b = f64(net.at('proj').param('bias'));
    const Wc = f64(net.at('c').param('weight'));
    const bc = f64(net.at('c').param('bias'));
    const peft = getPeftModel(net, { peft_type: 'LORA', r: 3, lora_alpha: 16, target_modules: ['proj', 'c'] });
    for (const p of ['proj', 'c']) {
      const layer = net.at(p) as LoraLayer;
      expect(f64(layer.loraB('default'))).toEqual(new Array(15).fill(0));
      expect(f64(layer.loraA('default')).some((v) => v !== 0)).toBe(true);
    }
    const xt = tensor(rand(4 * 6, 1), [4, 6]);
    const x = f64(xt);
    const y = f64(net.at('proj').forward(xt));
    expectClose(y, linear(x, W, b, 4, 6, 5), 1e-6);
    expect(y).toEqual(peft.disableAdapter(() => f64(net.at('proj').forward(xt))));
    expectClose(net.at('c').forward(xt), conv1d(x, Wc, bc, 4, 6, 5), 1e-6);
  });

  it('A follows kaiming_uniform(a=√5): U(−1/√in, 1/√in)', () => {
    const IN = 256;
    const R = 64;
    const net = tree({ proj: new Linear(IN, 8) });
    getPeftModel(net, { peft_type: 'LORA', r: R, target_modules: ['proj'] });
    const A = f64((net.at('proj') as LoraLayer).loraA('default'));
    expect(A).toHaveLength(R * IN);
    // gain = √(2/(1+5)); bound = gain·√(3/fan_in) = 1/√fan_in
    const bound = Math.sqrt(2 / 6) * Math.sqrt(3 / IN);
    expect(bound).toBeCloseTo(1 / 16, 15);
    const s = stats(A);
    expect(s.maxAbs).toBeLessThanOrEqual(bound * (1 + 1e-6));
    expect(s.maxAbs).toBeGreaterThan(0.99 * bound);
    // U(−b, b): mean 0, std b/√3
    const sd = bound / Math.sqrt(3);
    expect(Math.abs(s.mean)).toBeLessThan((5 * sd) / Math.sqrt(s.n));
    expect(Math.abs(s.std / sd - 1)).toBeLessThan(0.03);
    // roughly uniform: each quarter of [−b, b] holds ≈ 25%
    const quarters = [0, 0, 0, 0];
    for (const v of A) quarters[Math.min(3, Math.floor(((v + bound) / (2 * bound)) * 4))]++;
    for (const q of quarters) expect(Math.abs(q / s.n - 0.25)).toBeLessThan(0.02);
  });

  it('Conv1D: fan_in is the input size (weight stored [in, out])', () => {
    const net = tree({ c: new Conv1D(100, 7) });
    getPeftModel(net, { peft_type: 'LORA', r: 50, target_modules: ['c'], fan_in_fan_out: true });
    const A = f64((net.at('c') as LoraLayer).loraA('default'));
    expect(A).toHaveLength(50 * 100);
    const s = stats(A);
    expect(s.maxAbs).toBeLessThanOrEqual(0.1 * (1 + 1e-6));
    expect(s.maxAbs).toBeGreaterThan(0.098);
  });
});

describe('other initialisations', () => {
  it('"gaussian": A ~ N(0, 1/r) (std 1/r), B = 0', () => {
    const R = 4;
    const net = tree({ proj: new Linear(1024, 3) });
    getPeftModel(net, { peft_type: 'LORA', r: R, init_lora_weights: 'gaussian', target_modules: ['proj'] });
    const layer = net.at('proj') as LoraLayer;
    const s = stats(f64(layer.loraA('default')));
    expect(Math.abs(s.std / (1 / R) - 1)).toBeLessThan(0.04);
    expect(Math.abs(s.mean)).toBeLessThan((5 * (1 / R)) / Math.sqrt(s.n));
    expect(f64(layer.loraB('default')).every((v) => v === 0)).toBe(true);
  });

  it('Embedding: A = 0, B ~ N(0, 1) (roles swapped), still a no-op at init', () => {
    const net = tree({ emb: new Embedding(10, 512) });
    const W = f64(net.at('emb').param('weight'));
    getPeftModel(net, { peft_type: 'LORA', r: 8, target_modules: ['emb'] });
    const layer = net.at('emb') as LoraLayer;
    expect(f64(layer.loraA('default')).every((v) => v === 0)).toBe(true);
    const s = stats(f64(layer.loraB('default')));
    expect(s.n).toBe(512 * 8);
    expect(Math.abs(s.std - 1)).toBeLessThan(0.05);
    expect(Math.abs(s.mean)).toBeLessThan(5 / Math.sqrt(s.n));
    const ids = [3, 9, 0];
    const ref = ids.flatMap((id) => W.slice(id * 512, id * 512 + 512));
    expectClose(layer.forward(tensor(new Int32Array(ids), [3])), ref, 0);
  });

  it('false: B ~ U(±1/√r), not zero (a debugging init that changes the output)', () => {
    const R = 16;
    const net = tree({ proj: new Linear(64, 64) });
    getPeftModel(net, { peft_type: 'LORA', r: R, init_lora_weights: false, target_modules: ['proj'] });
    const layer = net.at('proj') as LoraLayer;
    const B = stats(f64(layer.loraB('default')));
    expect(B.maxAbs).toBeLessThanOrEqual(0.25 * (1 + 1e-6));
    expect(B.maxAbs).toBeGreaterThan(0.24);
    expect(Math.abs(B.std / (0.25 / Math.sqrt(3)) - 1)).toBeLessThan(0.06);
    expect(stats(f64(layer.loraA('default'))).maxAbs).toBeLessThanOrEqual(0.125 * (1 + 1e-6));
  });
});

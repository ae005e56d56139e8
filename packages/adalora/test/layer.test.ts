/**
 * SVDLinear (reference doc §11): y = base(x) + x·(A⊙E)ᵀ·Bᵀ·α/(ranknum + 1e-5), ΔW = B(A⊙E)·α/(ranknum + 1e-5) merged
 * into W, and the orthogonal regulariser — against float64 references (and finite differences for its gradient).
 */
import { Conv1D, Linear } from '@peftjs/nn';
import { tensor } from '@peftjs/tensor';
import {
  conv1d,
  expectClose,
  f64,
  finiteDiff,
  linear,
  matmul,
  rand,
  setAdapter,
  transpose,
  tree,
} from '@peftjs/test-utils';
import { describe, expect, it } from 'vitest';
import { type AdaLoraLayer, getPeftModel, orthogonalRegularizer } from '../src/index.js';

const IN = 5;
const OUT = 4;
const R = 3;
const M = 2;
const ALPHA = 6;

/** B·(A⊙E) [out, in] in float64. */
function delta(A: number[], E: number[], B: number[], s: number): number[] {
  const ae = A.map((v, i) => v * E[Math.floor(i / IN)]);
  return matmul(B, ae, OUT, R, IN).map((v) => v * s);
}

function adalora(module: Linear | Conv1D, extra: Record<string, unknown> = {}) {
  const net = tree({ proj: module });
  const peft = getPeftModel(net, {
    peft_type: 'ADALORA',
    init_r: R,
    target_r: 1,
    lora_alpha: ALPHA,
    total_step: 10,
    target_modules: ['proj'],
    ...extra,
  });
  const v = setAdapter(peft, {
    'proj.lora_A': { data: rand(R * IN, 1), shape: [R, IN] },
    'proj.lora_E': { data: rand(R, 2), shape: [R, 1] },
    'proj.lora_B': { data: rand(OUT * R, 3), shape: [OUT, R] },
  });
  return { net, peft, v, layer: net.at('proj') as AdaLoraLayer };
}

describe('AdaLoRA SVDLinear', () => {
  it('init: E = 0, A and B ~ N(0, 0.02); ranknum = init_r; saved keys have no .weight; ranknum is not saved', async () => {
    const net = tree({ proj: new Linear(64, 64) });
    const peft = getPeftModel(net, { peft_type: 'ADALORA', init_r: 8, total_step: 10, target_modules: ['proj'] });
    const layer = net.at('proj') as AdaLoraLayer;
    expect([...(await layer.loraE('default').data())].every((x) => x === 0)).toBe(true);
    const a = f64(layer.loraA('default'));
    const std = Math.sqrt(a.reduce((s, x) => s + x * x, 0) / a.length);
    expect(std).toBeGreaterThan(0.017);
    expect(std).toBeLessThan(0.023);
    expect(layer.ranknum('default')).toBe(8);
    expect(Object.keys(peft.adapterStateDict()).sort()).toEqual([
      'base_model.model.proj.lora_A',
      'base_model.model.proj.lora_B',
      'base_model.model.proj.lora_E',
    ]);
    // ranknum is a frozen parameter: counted, never trained
    const { trainable, total } = peft.countTrainable();
    expect(trainable).toBe(8 * 64 + 8 + 64 * 8);
    expect(total).toBe(trainable + 64 * 64 + 64 + 1);
    peft.dispose();
  });

  it('Linear forward and merge/unmerge match float64', async () => {
    const { net, peft, v, layer } = adalora(new Linear(IN, OUT));
    const W = f64(layer.baseLayer.param('weight'));
    const b = f64(layer.baseLayer.param('bias'));
    const s = ALPHA / (R + 1e-5);
    const d = delta(v['proj.lora_A'], v['proj.lora_E'], v['proj.lora_B'], s);
    const x = rand(M * IN, 9);
    const ref = linear(
      x,
      W.map((w, i) => w + d[i]),
      b,
      M,
      IN,
      OUT,
    );
    expectClose(net.at('proj').forward(tensor(x, [M, IN])), ref, 1e-5);
    peft.merge();
    expectClose(
      layer.baseLayer.param('weight'),
      W.map((w, i) => w + d[i]),
      1e-5,
    );
    expectClose(net.at('proj').forward(tensor(x, [M, IN])), ref, 1e-5);
    peft.unmerge();
    expectClose(layer.baseLayer.param('weight'), W, 1e-5);
    peft.dispose();
  });

  it('Conv1D (weights [in, out], fan_in_fan_out): forward and merge match float64', async () => {
    const { net, peft, v, layer } = adalora(new Conv1D(IN, OUT), { fan_in_fan_out: true });
    const Wio = f64(layer.baseLayer.param('weight'));
    const b = f64(layer.baseLayer.param('bias'));
    const d = delta(v['proj.lora_A'], v['proj.lora_E'], v['proj.lora_B'], ALPHA / (R + 1e-5));
    const dio = transpose(d, OUT, IN);
    const x = rand(M * IN, 11);
    const ref = conv1d(
      x,
      Wio.map((w, i) => w + dio[i]),
      b,
      M,
      IN,
      OUT,
    );
    expectClose(net.at('proj').forward(tensor(x, [M, IN])), ref, 1e-5);
    peft.merge();
    expectClose(
      layer.baseLayer.param('weight'),
      Wio.map((w, i) => w + dio[i]),
      1e-5,
    );
    peft.dispose();
  });

  it('orthogonal regulariser: mean of ‖AAᵀ−I‖_F and ‖BᵀB−I‖_F, gradient = finite differences', async () => {
    const { peft, v, layer } = adalora(new Linear(IN, OUT));
    const fro = (m: number[], n: number) => {
      let acc = 0;
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) acc += (m[i * n + j] - (i === j ? 1 : 0)) ** 2;
      return Math.sqrt(acc);
    };
    const regOf = (A: number[], B: number[]) =>
      (fro(matmul(A, transpose(A, R, IN), R, IN, R), R) + fro(matmul(transpose(B, OUT, R), B, R, OUT, R), R)) / 2;
    const A = v['proj.lora_A'];
    const B = v['proj.lora_B'];
    const reg = orthogonalRegularizer([layer], 'default')!;
    expect(Math.abs((await reg.item()) - regOf(A, B))).toBeLessThan(1e-5);
    reg.backward();
    expectClose(
      layer.loraA('default').grad!,
      finiteDiff((p) => regOf(p, B), A),
      1e-4,
    );
    expectClose(
      layer.loraB('default').grad!,
      finiteDiff((p) => regOf(A, p), B),
      1e-4,
    );
    reg.dispose();
    peft.dispose();
  });
});

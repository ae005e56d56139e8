/**
 * Gradients of LoRA parameters against central finite differences of the float64 reference loss
 * L = Σ R ⊙ y, and the frozen base: its weight and bias get no gradient at all (grad stays null).
 */

import { Conv1D, Embedding, Linear } from '@peftjs/nn';
import { mul, sum, type Tensor, tensor } from '@peftjs/tensor';
import { describe, expect, it } from 'vitest';
import { getPeftModel, type LoraLayer } from '../src/index.js';
import {
  conv1d,
  dot,
  expectClose,
  f64,
  finiteDiff,
  linear,
  loraEmbeddingRef,
  loraRef,
  rand,
  setAdapter,
  tree,
} from '@peftjs/test-utils';

const IN = 5;
const OUT = 4;
const R = 3;
const M = 6;

function backwardOf(y: Tensor, weights: number[]): void {
  const loss = sum(mul(y, tensor(weights, y.shape)));
  loss.backward();
}

describe('LoRA gradients vs finite differences', () => {
  for (const kind of ['linear', 'conv1d'] as const) {
    it(`${kind}: dL/dA and dL/dB (with lora_bias: dL/db_B); base gets none`, () => {
      const base = kind === 'linear' ? new Linear(IN, OUT) : new Conv1D(IN, OUT);
      const net = tree({ p: base });
      const W = f64(base.param('weight'));
      const b = f64(base.param('bias'));
      const peft = getPeftModel(net, {
        peft_type: 'LORA',
        r: R,
        lora_alpha: 5,
        lora_bias: true,
        target_modules: ['p'],
        fan_in_fan_out: kind === 'conv1d',
      });
      const v = setAdapter(peft, {
        'p.lora_A.weight': { data: rand(R * IN, 1), shape: [R, IN] },
        'p.lora_B.weight': { data: rand(OUT * R, 2), shape: [OUT, R] },
        'p.lora_B.bias': { data: rand(OUT, 3), shape: [OUT] },
      });
      const xt = tensor(rand(M * IN, 4), [M, IN]);
      const x = f64(xt);
      const Rw = rand(M * OUT, 5);
      const baseOut = kind === 'linear' ? linear(x, W, b, M, IN, OUT) : conv1d(x, W, b, M, IN, OUT);
      const s = 5 / R;
      const loss = (A: number[], B: number[], bB: number[]) =>
        dot(Rw, loraRef({ x, m: M, inF: IN, outF: OUT, r: R, base: baseOut, A, B, s, loraBias: bB }));
      const A0 = v['p.lora_A.weight'];
      const B0 = v['p.lora_B.weight'];
      const b0 = v['p.lora_B.bias'];

      backwardOf(net.at('p').forward(xt), Rw);
      const layer = net.at('p') as LoraLayer;
      expectClose(
        layer.loraA('default').grad!,
        finiteDiff((A) => loss(A, B0, b0), A0),
        1e-4,
      );
      expectClose(
        layer.loraB('default').grad!,
        finiteDiff((B) => loss(A0, B, b0), B0),
        1e-4,
      );
      const sd = peft.adapterStateDict();
      expectClose(
        sd['base_model.model.p.lora_B.bias'].grad!,
        finiteDiff((bB) => loss(A0, B0, bB), b0),
        1e-4,
      );
      expect(layer.baseLayer.param('weight').grad).toBeNull();
      expect(layer.baseLayer.param('bias').grad).toBeNull();
      expect(layer.baseLayer.param('weight').requiresGrad).toBe(false);
    });
  }

  it('with B = 0 (fresh init) only B gets a non-zero gradient, equal to the finite difference', () => {
    const net = tree({ p: new Linear(IN, OUT, { bias: false }) });
    const W = f64(net.at('p').param('weight'));
    getPeftModel(net, { peft_type: 'LORA', r: R, lora_alpha: 2, target_modules: ['p'] });
    const layer = net.at('p') as LoraLayer;
    const A0 = f64(layer.loraA('default'));
    const B0 = f64(layer.loraB('default'));
    const xt = tensor(rand(M * IN, 6), [M, IN]);
    const x = f64(xt);
    const Rw = rand(M * OUT, 7);
    const baseOut = linear(x, W, null, M, IN, OUT);
    const loss = (A: number[], B: number[]) =>
      dot(Rw, loraRef({ x, m: M, inF: IN, outF: OUT, r: R, base: baseOut, A, B, s: 2 / R }));
    backwardOf(layer.forward(xt), Rw);
    expect(f64(layer.loraA('default').grad!).every((g) => g === 0)).toBe(true);
    const gB = finiteDiff((B) => loss(A0, B), B0);
    expect(Math.max(...gB.map(Math.abs))).toBeGreaterThan(1e-3);
    expectClose(layer.loraB('default').grad!, gB, 1e-4);
  });

  it('embedding: dL/dA (only the looked-up columns) and dL/dB', () => {
    const NUM = 6;
    const DIM = 3;
    const net = tree({ emb: new Embedding(NUM, DIM) });
    const W = f64(net.at('emb').param('weight'));
    const peft = getPeftModel(net, { peft_type: 'LORA', r: 2, lora_alpha: 3, target_modules: ['emb'] });
    const v = setAdapter(peft, {
      'emb.lora_embedding_A': { data: rand(2 * NUM, 8), shape: [2, NUM] },
      'emb.lora_embedding_B': { data: rand(DIM * 2, 9), shape: [DIM, 2] },
    });
    const ids = [1, 4, 4, 0];
    const Rw = rand(ids.length * DIM, 10);
    const loss = (A: number[], B: number[]) => dot(Rw, loraEmbeddingRef(ids, W, A, B, NUM, DIM, 2, 1.5));
    const A0 = v['emb.lora_embedding_A'];
    const B0 = v['emb.lora_embedding_B'];
    const layer = net.at('emb') as LoraLayer;
    backwardOf(layer.forward(tensor(new Int32Array(ids), [4])), Rw);
    const gA = finiteDiff((A) => loss(A, B0), A0);
    // columns 2, 3, 5 are never looked up
    for (const k of [0, 1]) for (const c of [2, 3, 5]) expect(gA[k * NUM + c]).toBeCloseTo(0, 8);
    expectClose(layer.loraA('default').grad!, gA, 1e-4);
    expectClose(
      layer.loraB('default').grad!,
      finiteDiff((B) => loss(A0, B), B0),
      1e-4,
    );
    expect(layer.baseLayer.param('weight').grad).toBeNull();
  });

  it('through a two-layer model: the chain rule matches finite differences for both adapters', () => {
    const l1 = new Linear(IN, OUT);
    const l2 = new Linear(OUT, 2);
    const net = tree({ 'main.l1': l1, 'main.l2': l2 });
    const W1 = f64(l1.param('weight'));
    const b1 = f64(l1.param('bias'));
    const W2 = f64(l2.param('weight'));
    const b2 = f64(l2.param('bias'));
    const peft = getPeftModel(net, { peft_type: 'LORA', r: 2, lora_alpha: 4, target_modules: ['l1', 'l2'] });
    const v = setAdapter(peft, {
      'main.l1.lora_A.weight': { data: rand(2 * IN, 11), shape: [2, IN] },
      'main.l1.lora_B.weight': { data: rand(OUT * 2, 12), shape: [OUT, 2] },
      'main.l2.lora_A.weight': { data: rand(2 * OUT, 13), shape: [2, OUT] },
      'main.l2.lora_B.weight': { data: rand(2 * 2, 14), shape: [2, 2] },
    });
    const xt = tensor(rand(M * IN, 15), [M, IN]);
    const x = f64(xt);
    const Rw = rand(M * 2, 16);
    const f = (A1: number[], B1: number[], A2: number[], B2: number[]) => {
      const h = loraRef({ x, m: M, inF: IN, outF: OUT, r: 2, base: linear(x, W1, b1, M, IN, OUT), A: A1, B: B1, s: 2 });
      const t = h.map(Math.tanh);
      return dot(
        Rw,
        loraRef({ x: t, m: M, inF: OUT, outF: 2, r: 2, base: linear(t, W2, b2, M, OUT, 2), A: A2, B: B2, s: 2 }),
      );
    };
    const p = [
      v['main.l1.lora_A.weight'],
      v['main.l1.lora_B.weight'],
      v['main.l2.lora_A.weight'],
      v['main.l2.lora_B.weight'],
    ];
    const L1 = net.at('main.l1') as LoraLayer;
    const L2 = net.at('main.l2') as LoraLayer;
    backwardOf(L2.forward(L1.forward(xt).tanh()), Rw);
    const grads = [L1.loraA('default'), L1.loraB('default'), L2.loraA('default'), L2.loraB('default')].map(
      (t) => t.grad!,
    );
    for (let i = 0; i < 4; i++) {
      const fd = finiteDiff(
        (q) => f(...(p.map((o, j) => (j === i ? q : o)) as [number[], number[], number[], number[]])),
        p[i],
      );
      expectClose(grads[i], fd, 1e-4);
    }
    for (const m of [L1, L2]) expect(m.baseLayer.param('weight').grad).toBeNull();
  });
});

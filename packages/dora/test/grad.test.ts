/**
 * DoRA gradients against central finite differences of the float64 loss L = Σ R ⊙ y, with the weight norm held
 * constant (detached, as PEFT and the paper do): m, A and B get gradients; the base weight none.
 */
import '../src/index.js';
import { getPeftModel, type LoraLayer } from '@peftjs/lora';
import { Conv1D, Linear } from '@peftjs/nn';
import { mul, sum, tensor } from '@peftjs/tensor';
import { describe, expect, it } from 'vitest';
import {
  addArr,
  dot,
  expectClose,
  f64,
  finiteDiff,
  matmul,
  rand,
  scaleArr,
  setAdapter,
  transpose,
  tree,
} from '@peftjs/test-utils';
import { doraRef, rowNorms } from './ref.js';

const IN = 5;
const OUT = 4;
const R = 2;
const M = 6;

describe('DoRA gradients vs finite differences (norm detached)', () => {
  for (const kind of ['linear', 'conv1d'] as const) {
    it(`${kind}: dL/dm, dL/dA, dL/dB`, () => {
      const base = kind === 'linear' ? new Linear(IN, OUT) : new Conv1D(IN, OUT);
      const net = tree({ p: base });
      const stored = f64(base.param('weight'));
      const W = kind === 'linear' ? stored : transpose(stored, IN, OUT);
      const b = f64(base.param('bias'));
      const peft = getPeftModel(net, {
        peft_type: 'LORA',
        use_dora: true,
        r: R,
        lora_alpha: 3,
        target_modules: ['p'],
        fan_in_fan_out: kind === 'conv1d',
      });
      const v = setAdapter(peft, {
        'p.lora_A.weight': { data: rand(R * IN, 1), shape: [R, IN] },
        'p.lora_B.weight': { data: rand(OUT * R, 2), shape: [OUT, R] },
        'p.lora_magnitude_vector': { data: rand(OUT, 3).map((x) => 1.5 + x), shape: [OUT] },
      });
      const A0 = v['p.lora_A.weight'];
      const B0 = v['p.lora_B.weight'];
      const m0 = v['p.lora_magnitude_vector'];
      const s = 3 / R;
      // the detached norm: computed once from the current A, B and held fixed while differentiating
      const n0 = rowNorms(addArr(W, scaleArr(matmul(B0, A0, OUT, R, IN), s)), OUT, IN);
      const xt = tensor(rand(M * IN, 4), [M, IN]);
      const x = f64(xt);
      const Rw = rand(M * OUT, 5);
      const loss = (mag: number[], A: number[], B: number[]) =>
        dot(Rw, doraRef({ x, m: M, inF: IN, outF: OUT, r: R, W, b, A, B, mag, s, norm: n0 }));

      const layer = net.at('p') as LoraLayer;
      sum(mul(layer.forward(xt), tensor(Rw, [M, OUT]))).backward();
      const mag = peft.adapterStateDict()['base_model.model.p.lora_magnitude_vector'];
      expectClose(
        mag.grad!,
        finiteDiff((q) => loss(q, A0, B0), m0),
        1e-4,
      );
      expectClose(
        layer.loraA('default').grad!,
        finiteDiff((q) => loss(m0, q, B0), A0),
        1e-4,
      );
      expectClose(
        layer.loraB('default').grad!,
        finiteDiff((q) => loss(m0, A0, q), B0),
        1e-4,
      );
      expect(layer.baseLayer.param('weight').grad).toBeNull();
      expect(layer.baseLayer.param('bias').grad).toBeNull();
    });
  }

  it('differs from the gradient through the norm (so detaching is what is tested)', () => {
    const net = tree({ p: new Linear(IN, OUT, { bias: false }) });
    const W = f64(net.at('p').param('weight'));
    const peft = getPeftModel(net, { peft_type: 'LORA', use_dora: true, r: R, lora_alpha: 2, target_modules: ['p'] });
    const v = setAdapter(peft, {
      'p.lora_A.weight': { data: rand(R * IN, 6), shape: [R, IN] },
      'p.lora_B.weight': { data: rand(OUT * R, 7), shape: [OUT, R] },
    });
    const A0 = v['p.lora_A.weight'];
    const B0 = v['p.lora_B.weight'];
    const mag = f64(peft.adapterStateDict()['base_model.model.p.lora_magnitude_vector']);
    const s = 1;
    const n0 = rowNorms(addArr(W, scaleArr(matmul(B0, A0, OUT, R, IN), s)), OUT, IN);
    const xt = tensor(rand(M * IN, 8), [M, IN]);
    const x = f64(xt);
    const Rw = rand(M * OUT, 9);
    const detached = (B: number[]) =>
      dot(Rw, doraRef({ x, m: M, inF: IN, outF: OUT, r: R, W, b: null, A: A0, B, mag, s, norm: n0 }));
    const through = (B: number[]) =>
      dot(Rw, doraRef({ x, m: M, inF: IN, outF: OUT, r: R, W, b: null, A: A0, B, mag, s }));
    const layer = net.at('p') as LoraLayer;
    sum(mul(layer.forward(xt), tensor(Rw, [M, OUT]))).backward();
    const g = f64(layer.loraB('default').grad!);
    expectClose(g, finiteDiff(detached, B0), 1e-4);
    const gThrough = finiteDiff(through, B0);
    expect(Math.max(...g.map((v, i) => Math.abs(v - gThrough[i])))).toBeGreaterThan(1e-3);
  });
});

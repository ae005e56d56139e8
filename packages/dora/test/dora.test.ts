/**
 * DoRA (use_dora) against float64 references (reference doc §3): magnitude m = ‖W + s·B·A‖ per output row;
 * y = base(x) + (m/n − 1)⊙(x·Wᵀ) + (m/n)⊙s·(x·Aᵀ·Bᵀ), equal to x·(m/n ⊙ V)ᵀ + b; merge W ← (m/n)⊙V.
 */
import '../src/index.js';
import { getPeftModel, type LoraLayer, variantFor } from '@peftjs/lora';
import { Conv1D, Embedding, Linear } from '@peftjs/nn';
import { PeftConfigError } from '@peftjs/registry';
import { tensor } from '@peftjs/tensor';
import { describe, expect, it } from 'vitest';
import { DoraMagnitude, doraVariant } from '../src/index.js';
import {
  addArr,
  expectClose,
  f64,
  linear,
  matmul,
  rand,
  scaleArr,
  setAdapter,
  transpose,
  tree,
} from '@peftjs/test-utils';
import { doraMerged, doraRef, rowNorms } from './ref.js';

const IN = 6;
const OUT = 5;
const R = 3;
const M = 4;

/** A DoRA adapter on a Linear (or Conv1D) with random A, B and magnitude; W returned in [out, in] orientation. */
function doraCase(
  kind: 'linear' | 'conv1d',
  opts: { bias?: boolean; alpha?: number; rslora?: boolean; dropout?: number } = {},
) {
  const base =
    kind === 'linear'
      ? new Linear(IN, OUT, { bias: opts.bias ?? true })
      : new Conv1D(IN, OUT, { bias: opts.bias ?? true });
  if (kind === 'conv1d' && (opts.bias ?? true)) base.setParameter('bias', tensor(rand(OUT, 99), [OUT]))?.dispose();
  const net = tree({ 'blk.p': base });
  const stored = f64(base.param('weight'));
  const W = kind === 'linear' ? stored : transpose(stored, IN, OUT);
  const b = opts.bias === false ? null : f64(base.param('bias'));
  const alpha = opts.alpha ?? 4;
  const peft = getPeftModel(net, {
    peft_type: 'LORA',
    use_dora: true,
    r: R,
    lora_alpha: alpha,
    use_rslora: opts.rslora ?? false,
    lora_dropout: opts.dropout ?? 0,
    target_modules: ['p'],
    fan_in_fan_out: kind === 'conv1d',
  });
  const magInit = f64(peft.adapterStateDict()['base_model.model.blk.p.lora_magnitude_vector']);
  const v = setAdapter(peft, {
    'blk.p.lora_A.weight': { data: rand(R * IN, 1), shape: [R, IN] },
    'blk.p.lora_B.weight': { data: rand(OUT * R, 2), shape: [OUT, R] },
    'blk.p.lora_magnitude_vector': { data: rand(OUT, 3).map((x) => 1 + x), shape: [OUT] },
  });
  const s = opts.rslora ? alpha / Math.sqrt(R) : alpha / R;
  return {
    net,
    peft,
    layer: net.at('blk.p') as LoraLayer,
    W,
    stored,
    b,
    s,
    magInit,
    A: v['blk.p.lora_A.weight'],
    B: v['blk.p.lora_B.weight'],
    mag: v['blk.p.lora_magnitude_vector'],
  };
}

describe('registration', () => {
  it('importing @peftjs/dora registers the variant for use_dora', () => {
    expect(variantFor({ use_dora: true } as Parameters<typeof variantFor>[0])).toBe(doraVariant);
    expect(variantFor({ use_dora: false } as Parameters<typeof variantFor>[0])).toBeNull();
  });
});

describe('magnitude vector', () => {
  it('default init (B = 0): m = ‖W‖ per output row (Linear [out, in])', () => {
    const { magInit, W } = doraCase('linear');
    expect(magInit).toHaveLength(OUT);
    expectClose(magInit, rowNorms(W, OUT, IN), 1e-6);
  });

  it('Conv1D (weight [in, out]): m = ‖Wᵀ‖ per output row, i.e. column norms of the stored weight', () => {
    const { magInit, W, stored } = doraCase('conv1d');
    expectClose(magInit, rowNorms(W, OUT, IN), 1e-6);
    const colNorms = Array.from({ length: OUT }, (_, j) =>
      Math.sqrt(Array.from({ length: IN }, (_, i) => stored[i * OUT + j] ** 2).reduce((a, c) => a + c, 0)),
    );
    expectClose(magInit, colNorms, 1e-6);
  });

  it('init_lora_weights=false (B ≠ 0): m = ‖W + s·B·A‖ per row', () => {
    const net = tree({ p: new Linear(IN, OUT) });
    const W = f64(net.at('p').param('weight'));
    const peft = getPeftModel(net, {
      peft_type: 'LORA',
      use_dora: true,
      r: R,
      lora_alpha: 5,
      init_lora_weights: false,
      target_modules: ['p'],
    });
    const layer = net.at('p') as LoraLayer;
    const A = f64(layer.loraA('default'));
    const B = f64(layer.loraB('default'));
    expect(B.some((v) => v !== 0)).toBe(true);
    const V = addArr(W, scaleArr(matmul(B, A, OUT, R, IN), 5 / R));
    const m = peft.adapterStateDict()['base_model.model.p.lora_magnitude_vector'];
    expectClose(m, rowNorms(V, OUT, IN), 1e-6);
    // and it differs from ‖W‖ (so the test can tell them apart)
    const diff = rowNorms(V, OUT, IN).map((v, i) => Math.abs(v - rowNorms(W, OUT, IN)[i]));
    expect(Math.max(...diff)).toBeGreaterThan(1e-3);
  });

  it('is a trainable parameter saved as lora_magnitude_vector (no .weight), [out]', () => {
    const { peft, net } = doraCase('linear');
    expect(Object.keys(peft.adapterStateDict())).toEqual([
      'base_model.model.blk.p.lora_A.weight',
      'base_model.model.blk.p.lora_B.weight',
      'base_model.model.blk.p.lora_magnitude_vector',
    ]);
    expect(net.namedTrainableParameters().map(([k]) => k)).toEqual([
      'blk.p.lora_A.default.weight',
      'blk.p.lora_B.default.weight',
      'blk.p.lora_magnitude_vector.default.weight',
    ]);
    expect(net.at('blk.p.lora_magnitude_vector.default')).toBeInstanceOf(DoraMagnitude);
    // LoRA (3×6 + 5×3 = 33) + magnitude 5; base Linear(6, 5) = 35
    expect(peft.countTrainable()).toEqual({ trainable: 38, total: 73 });
  });

  it('at init the model equals the base model (m = ‖W‖, B = 0)', () => {
    const net = tree({ p: new Linear(IN, OUT) });
    const W = f64(net.at('p').param('weight'));
    const b = f64(net.at('p').param('bias'));
    getPeftModel(net, { peft_type: 'LORA', use_dora: true, r: R, target_modules: ['p'] });
    const xt = tensor(rand(M * IN, 4), [M, IN]);
    expectClose(net.at('p').forward(xt), linear(f64(xt), W, b, M, IN, OUT), 1e-6);
  });
});

describe('forward', () => {
  for (const kind of ['linear', 'conv1d'] as const) {
    it(`${kind}: equals the PEFT formula and the closed form x·(m/n ⊙ V)ᵀ + b`, () => {
      const { layer, W, b, A, B, mag, s } = doraCase(kind);
      const xt = tensor(rand(M * IN, 5), [M, IN]);
      const x = f64(xt);
      const y = layer.forward(xt);
      expectClose(y, doraRef({ x, m: M, inF: IN, outF: OUT, r: R, W, b, A, B, mag, s }), 1e-5);
      expectClose(y, linear(x, doraMerged(W, A, B, mag, s, OUT, R, IN), b, M, IN, OUT), 1e-5);
    });
  }

  it('no base bias, rsLoRA scaling (α/√r), 3-D input', () => {
    const { layer, W, A, B, mag, s } = doraCase('linear', { bias: false, alpha: 6, rslora: true });
    expect(s).toBe(6 / Math.sqrt(3));
    expect(layer.scaling('default')).toBeCloseTo(s, 12);
    const xt = tensor(rand(2 * M * IN, 6), [2, M, IN]);
    const x = f64(xt);
    expectClose(layer.forward(xt), doraRef({ x, m: 2 * M, inF: IN, outF: OUT, r: R, W, b: null, A, B, mag, s }), 1e-5);
  });

  it('with dropout while training: the base term is recomputed on the dropped-out input (PEFT)', () => {
    const p = 0.5;
    const { net, layer, W, b, A, B, mag, s } = doraCase('linear', { dropout: p });
    // one non-zero per row: dropout either keeps it (×1/(1−p)) or zeroes the whole row of the adapter input
    const N = 64;
    const x = Array.from({ length: N * IN }, (_, i) => (i % IN === Math.floor(i / IN) % IN ? 1 + (i % 7) / 7 : 0));
    const xt = tensor(x, [N, IN]);
    net.train();
    const y = f64(layer.forward(xt));
    const base = linear(x, W, b, N, IN, OUT);
    const kept = doraRef({ x: x.map((v) => v / (1 - p)), m: N, inF: IN, outF: OUT, r: R, W, b: null, A, B, mag, s });
    // doraRef with b = null gives x'·Wᵀ + (k−1)·x'·Wᵀ + k·s·lora(x'); the dropped-out DoRA term is that minus x'·Wᵀ
    const keptTerm = kept.map(
      (v, i) =>
        v -
        linear(
          x.map((u) => u / (1 - p)),
          W,
          null,
          N,
          IN,
          OUT,
        )[i],
    );
    let nKept = 0;
    for (let row = 0; row < N; row++) {
      const got = y.slice(row * OUT, row * OUT + OUT);
      const ifDropped = base.slice(row * OUT, row * OUT + OUT);
      const ifKept = ifDropped.map((v, j) => v + keptTerm[row * OUT + j]);
      const err = (ref: number[]) => Math.max(...ref.map((v, j) => Math.abs(v - got[j])));
      const isKept = err(ifKept) < 1e-5;
      expect(isKept || err(ifDropped) < 1e-5, `row ${row}`).toBe(true);
      if (isKept) nKept++;
    }
    expect(nKept).toBeGreaterThan(N * 0.2);
    expect(nKept).toBeLessThan(N * 0.8);
    net.eval();
    expectClose(layer.forward(xt), doraRef({ x, m: N, inF: IN, outF: OUT, r: R, W, b, A, B, mag, s }), 1e-5);
  });
});

describe('merge / unmerge', () => {
  for (const kind of ['linear', 'conv1d'] as const) {
    it(`${kind}: merged W = (m/‖V‖)⊙V (stored layout), forward unchanged, unmerge restores W`, () => {
      const { peft, layer, W, stored, b, A, B, mag, s } = doraCase(kind);
      const xt = tensor(rand(M * IN, 7), [M, IN]);
      const x = f64(xt);
      const ref = doraRef({ x, m: M, inF: IN, outF: OUT, r: R, W, b, A, B, mag, s });
      const mergedOutIn = doraMerged(W, A, B, mag, s, OUT, R, IN);
      peft.merge();
      const w = layer.baseLayer.param('weight');
      expect(w.shape).toEqual(kind === 'linear' ? [OUT, IN] : [IN, OUT]);
      expectClose(w, kind === 'linear' ? mergedOutIn : transpose(mergedOutIn, OUT, IN), 1e-6);
      if (b) expectClose(layer.baseLayer.param('bias'), b, 0); // the bias is unchanged
      expectClose(layer.forward(xt), ref, 1e-5);
      peft.unmerge();
      expectClose(layer.baseLayer.param('weight'), stored, 1e-5);
      expectClose(layer.forward(xt), ref, 1e-5);
    });
  }

  it('mergeAndUnload gives a plain Linear with the merged weight', () => {
    const { peft, W, A, B, mag, s } = doraCase('linear');
    const plain = peft.mergeAndUnload();
    expect(plain.at('blk.p')).toBeInstanceOf(Linear);
    expectClose(plain.at('blk.p').param('weight'), doraMerged(W, A, B, mag, s, OUT, R, IN), 1e-6);
  });
});

describe('errors', () => {
  it('DoRA on an Embedding is refused with a PeftConfigError naming use_dora', () => {
    const net = tree({ emb: new Embedding(5, 4) });
    let err: unknown;
    try {
      getPeftModel(net, { peft_type: 'LORA', use_dora: true, target_modules: ['emb'] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PeftConfigError);
    expect((err as PeftConfigError).field).toBe('use_dora');
  });

  it('use_dora with lora_bias is refused (as PEFT)', () => {
    expect(() =>
      getPeftModel(tree({ p: new Linear(2, 2) }), {
        peft_type: 'LORA',
        use_dora: true,
        lora_bias: true,
        target_modules: ['p'],
      }),
    ).toThrow(/^lora_bias: cannot be combined with use_dora/);
  });
});

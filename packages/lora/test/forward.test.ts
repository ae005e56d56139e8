/**
 * LoRA forward against float64 references (reference doc §2.2–2.5): y = x·Wᵀ + b + s·(dropout(x)·Aᵀ)·Bᵀ with
 * s = lora_alpha / r (or / √r with use_rslora); GPT-2 Conv1D (W stored [in, out]); Embedding (A/B roles swapped,
 * no dropout); rank_pattern / alpha_pattern; lora_bias; several adapters.
 */

import { Conv1D, Embedding, Linear } from '@peftjs/nn';
import { PeftError } from '@peftjs/registry';
import { tensor } from '@peftjs/tensor';
import { describe, expect, it } from 'vitest';
import { getPeftModel, LoraLayer } from '../src/index.js';
import {
  conv1d,
  expectClose,
  f64,
  linear,
  loraEmbeddingRef,
  loraRef,
  rand,
  setAdapter,
  tree,
} from '@peftjs/test-utils';

const M = 5;
const IN = 6;
const OUT = 4;

function linearCase(opts: { r: number; alpha: number; rslora?: boolean; bias?: boolean }) {
  const net = tree({
    'model.proj': new Linear(IN, OUT, { bias: opts.bias ?? true }),
    'model.other': new Linear(IN, OUT),
  });
  const W = f64(net.at('model.proj').param('weight'));
  const b = opts.bias === false ? null : f64(net.at('model.proj').param('bias'));
  const peft = getPeftModel(net, {
    peft_type: 'LORA',
    r: opts.r,
    lora_alpha: opts.alpha,
    use_rslora: opts.rslora ?? false,
    target_modules: ['proj'],
  });
  const ab = setAdapter(peft, {
    'model.proj.lora_A.weight': { data: rand(opts.r * IN, 11), shape: [opts.r, IN] },
    'model.proj.lora_B.weight': { data: rand(OUT * opts.r, 12), shape: [OUT, opts.r] },
  });
  return { net, peft, W, b, A: ab['model.proj.lora_A.weight'], B: ab['model.proj.lora_B.weight'] };
}

describe('LoRA on Linear', () => {
  it('forward = x·Wᵀ + b + (α/r)·x·Aᵀ·Bᵀ (2-D and 3-D inputs)', () => {
    const { net, W, b, A, B } = linearCase({ r: 3, alpha: 5 });
    const layer = net.at('model.proj') as LoraLayer;
    expect(layer).toBeInstanceOf(LoraLayer);
    expect(layer.scaling('default')).toBe(5 / 3);
    const xt = tensor(rand(M * IN, 3), [M, IN]);
    const x = f64(xt);
    const ref = loraRef({ x, m: M, inF: IN, outF: OUT, r: 3, base: linear(x, W, b, M, IN, OUT), A, B, s: 5 / 3 });
    const y = layer.forward(xt);
    expect(y.shape).toEqual([M, OUT]);
    expectClose(y, ref, 1e-6);
    // batch × sequence × features
    const x3 = tensor(x.concat(x), [2, M, IN]);
    const y3 = layer.forward(x3);
    expect(y3.shape).toEqual([2, M, OUT]);
    expectClose(y3, ref.concat(ref), 1e-6);
  });

  it('a base layer without bias', () => {
    const { net, W, A, B } = linearCase({ r: 2, alpha: 8, bias: false });
    const xt = tensor(rand(M * IN, 4), [M, IN]);
    const x = f64(xt);
    const ref = loraRef({ x, m: M, inF: IN, outF: OUT, r: 2, base: linear(x, W, null, M, IN, OUT), A, B, s: 4 });
    expectClose(net.at('model.proj').forward(xt), ref, 1e-6);
  });

  it('rsLoRA scales by α/√r (r=4, α=8 → 4, not 2)', () => {
    const { net, W, b, A, B } = linearCase({ r: 4, alpha: 8, rslora: true });
    const layer = net.at('model.proj') as LoraLayer;
    expect(layer.scaling('default')).toBe(4);
    const xt = tensor(rand(M * IN, 5), [M, IN]);
    const x = f64(xt);
    const base = linear(x, W, b, M, IN, OUT);
    expectClose(
      layer.forward(xt),
      loraRef({ x, m: M, inF: IN, outF: OUT, r: 4, base, A, B, s: 8 / Math.sqrt(4) }),
      1e-6,
    );
    const plain = loraRef({ x, m: M, inF: IN, outF: OUT, r: 4, base, A, B, s: 8 / 4 });
    expect(Math.max(...f64(layer.forward(xt)).map((v, i) => Math.abs(v - plain[i])))).toBeGreaterThan(1e-3);
  });

  it('untargeted modules are untouched', () => {
    const { net } = linearCase({ r: 2, alpha: 2 });
    expect(net.at('model.other')).toBeInstanceOf(Linear);
  });
});

describe('LoRA on GPT-2 Conv1D (weight [in, out])', () => {
  it('A is [r, in], B is [out, r]; forward = x·W + b + s·x·Aᵀ·Bᵀ', () => {
    const net = tree({ 'h.0.attn.c_attn': new Conv1D(IN, OUT) });
    // a non-zero bias so the bias path is exercised
    net.at('h.0.attn.c_attn').setParameter('bias', tensor(rand(OUT, 21), [OUT]));
    const W = f64(net.at('h.0.attn.c_attn').param('weight'));
    const b = f64(net.at('h.0.attn.c_attn').param('bias'));
    const peft = getPeftModel(net, {
      peft_type: 'LORA',
      r: 2,
      lora_alpha: 3,
      target_modules: ['c_attn'],
      fan_in_fan_out: true,
    });
    const layer = net.at('h.0.attn.c_attn') as LoraLayer;
    expect(layer.kind).toBe('conv1d');
    expect(layer.loraA('default').shape).toEqual([2, IN]);
    expect(layer.loraB('default').shape).toEqual([OUT, 2]);
    const ab = setAdapter(peft, {
      'h.0.attn.c_attn.lora_A.weight': { data: rand(2 * IN, 22), shape: [2, IN] },
      'h.0.attn.c_attn.lora_B.weight': { data: rand(OUT * 2, 23), shape: [OUT, 2] },
    });
    const xt = tensor(rand(M * IN, 24), [M, IN]);
    const x = f64(xt);
    const ref = loraRef({
      x,
      m: M,
      inF: IN,
      outF: OUT,
      r: 2,
      base: conv1d(x, W, b, M, IN, OUT),
      A: ab['h.0.attn.c_attn.lora_A.weight'],
      B: ab['h.0.attn.c_attn.lora_B.weight'],
      s: 1.5,
    });
    expectClose(layer.forward(xt), ref, 1e-6);
  });
});

describe('LoRA on Embedding', () => {
  it('A [r, num], B [dim, r]; y = W[id] + s·Aᵀ[id]·Bᵀ; saved as lora_embedding_A / _B', () => {
    const NUM = 7;
    const DIM = 3;
    const net = tree({ embed_tokens: new Embedding(NUM, DIM) });
    const W = f64(net.at('embed_tokens').param('weight'));
    const peft = getPeftModel(net, { peft_type: 'LORA', r: 2, lora_alpha: 6, target_modules: ['embed_tokens'] });
    expect(Object.keys(peft.adapterStateDict())).toEqual([
      'base_model.model.embed_tokens.lora_embedding_A',
      'base_model.model.embed_tokens.lora_embedding_B',
    ]);
    const ab = setAdapter(peft, {
      'embed_tokens.lora_embedding_A': { data: rand(2 * NUM, 31), shape: [2, NUM] },
      'embed_tokens.lora_embedding_B': { data: rand(DIM * 2, 32), shape: [DIM, 2] },
    });
    const ids = [0, 6, 3, 3, 1, 5];
    const y = net.at('embed_tokens').forward(tensor(new Int32Array(ids), [2, 3]));
    expect(y.shape).toEqual([2, 3, DIM]);
    const ref = loraEmbeddingRef(
      ids,
      W,
      ab['embed_tokens.lora_embedding_A'],
      ab['embed_tokens.lora_embedding_B'],
      NUM,
      DIM,
      2,
      3,
    );
    expectClose(y, ref, 1e-6);
  });

  it('ignores lora_dropout, as PEFT does', () => {
    const net = tree({ emb: new Embedding(5, 4) });
    const W = f64(net.at('emb').param('weight'));
    const peft = getPeftModel(net, {
      peft_type: 'LORA',
      r: 2,
      lora_alpha: 2,
      lora_dropout: 0.9,
      target_modules: ['emb'],
    });
    const ab = setAdapter(peft, {
      'emb.lora_embedding_A': { data: rand(10, 41), shape: [2, 5] },
      'emb.lora_embedding_B': { data: rand(8, 42), shape: [4, 2] },
    });
    net.train();
    const ids = [4, 0, 2, 2, 1];
    const ref = loraEmbeddingRef(ids, W, ab['emb.lora_embedding_A'], ab['emb.lora_embedding_B'], 5, 4, 2, 1);
    expectClose(net.at('emb').forward(tensor(new Int32Array(ids), [5])), ref, 1e-6);
  });
});

describe('rank_pattern and alpha_pattern', () => {
  it('the first matching pattern overrides r / lora_alpha per module', () => {
    const net = tree({
      'layers.0.q_proj': new Linear(IN, OUT),
      'layers.0.v_proj': new Linear(IN, OUT),
      'layers.1.q_proj': new Linear(IN, OUT),
    });
    const peft = getPeftModel(net, {
      peft_type: 'LORA',
      r: 2,
      lora_alpha: 4,
      target_modules: ['q_proj', 'v_proj'],
      rank_pattern: { 'layers\\.1\\.q_proj': 5, q_proj: 3 },
      alpha_pattern: { v_proj: 10 },
    });
    const layer = (p: string) => net.at(p) as LoraLayer;
    // layers.1.q_proj: first pattern wins (r 5); layers.0.q_proj: r 3; v_proj keeps r 2 with alpha 10
    expect([layer('layers.0.q_proj').rank('default'), layer('layers.1.q_proj').rank('default')]).toEqual([3, 5]);
    expect(layer('layers.0.v_proj').rank('default')).toBe(2);
    expect(layer('layers.1.q_proj').loraA('default').shape).toEqual([5, IN]);
    expect(layer('layers.1.q_proj').loraB('default').shape).toEqual([OUT, 5]);
    expect(layer('layers.0.q_proj').scaling('default')).toBe(4 / 3);
    expect(layer('layers.1.q_proj').scaling('default')).toBe(4 / 5);
    expect(layer('layers.0.v_proj').scaling('default')).toBe(10 / 2);

    // and the forward uses them
    const W = f64(layer('layers.0.v_proj').baseLayer.param('weight'));
    const b = f64(layer('layers.0.v_proj').baseLayer.param('bias'));
    const ab = setAdapter(peft, {
      'layers.0.v_proj.lora_A.weight': { data: rand(2 * IN, 51), shape: [2, IN] },
      'layers.0.v_proj.lora_B.weight': { data: rand(OUT * 2, 52), shape: [OUT, 2] },
    });
    const xt = tensor(rand(M * IN, 53), [M, IN]);
    const x = f64(xt);
    const ref = loraRef({
      x,
      m: M,
      inF: IN,
      outF: OUT,
      r: 2,
      base: linear(x, W, b, M, IN, OUT),
      A: ab['layers.0.v_proj.lora_A.weight'],
      B: ab['layers.0.v_proj.lora_B.weight'],
      s: 5,
    });
    expectClose(layer('layers.0.v_proj').forward(xt), ref, 1e-6);
  });

  it('patterns are anchored on a dot boundary and the module end', () => {
    const net = tree({ 'a.xq_proj': new Linear(2, 2), 'a.q_proj_out': new Linear(2, 2), 'a.q_proj': new Linear(2, 2) });
    getPeftModel(net, {
      peft_type: 'LORA',
      r: 1,
      target_modules: ['xq_proj', 'q_proj_out', 'q_proj'],
      rank_pattern: { q_proj: 2 },
    });
    const rank = (p: string) => (net.at(p) as LoraLayer).rank('default');
    expect([rank('a.xq_proj'), rank('a.q_proj_out'), rank('a.q_proj')]).toEqual([1, 1, 2]);
  });
});

describe('lora_bias', () => {
  it('adds s·bias_B to the output and is saved as lora_B.bias', () => {
    const net = tree({ proj: new Linear(IN, OUT) });
    const W = f64(net.at('proj').param('weight'));
    const b = f64(net.at('proj').param('bias'));
    const peft = getPeftModel(net, {
      peft_type: 'LORA',
      r: 2,
      lora_alpha: 6,
      lora_bias: true,
      target_modules: ['proj'],
    });
    expect(Object.keys(peft.adapterStateDict())).toEqual([
      'base_model.model.proj.lora_A.weight',
      'base_model.model.proj.lora_B.weight',
      'base_model.model.proj.lora_B.bias',
    ]);
    // initialised to zero
    expect(f64(peft.adapterStateDict()['base_model.model.proj.lora_B.bias'])).toEqual([0, 0, 0, 0]);
    const v = setAdapter(peft, {
      'proj.lora_A.weight': { data: rand(2 * IN, 61), shape: [2, IN] },
      'proj.lora_B.weight': { data: rand(OUT * 2, 62), shape: [OUT, 2] },
      'proj.lora_B.bias': { data: rand(OUT, 63), shape: [OUT] },
    });
    const xt = tensor(rand(M * IN, 64), [M, IN]);
    const x = f64(xt);
    const ref = loraRef({
      x,
      m: M,
      inF: IN,
      outF: OUT,
      r: 2,
      base: linear(x, W, b, M, IN, OUT),
      A: v['proj.lora_A.weight'],
      B: v['proj.lora_B.weight'],
      s: 3,
      loraBias: v['proj.lora_B.bias'],
    });
    expectClose(net.at('proj').forward(xt), ref, 1e-6);
  });
});

describe('dropout on the LoRA path only', () => {
  it('training: y − base = s·(D ⊙ x) with D ∈ {0, 1/(1−p)} and P(0) ≈ p; eval: no dropout', () => {
    const N = 400;
    const p = 0.3;
    const D = 4;
    const net = tree({ proj: new Linear(D, D) });
    const W = f64(net.at('proj').param('weight'));
    const b = f64(net.at('proj').param('bias'));
    const peft = getPeftModel(net, {
      peft_type: 'LORA',
      r: D,
      lora_alpha: 2 * D,
      lora_dropout: p,
      target_modules: ['proj'],
    });
    const eye = Array.from({ length: D * D }, (_, i) => (i % (D + 1) === 0 ? 1 : 0));
    setAdapter(peft, {
      'proj.lora_A.weight': { data: eye, shape: [D, D] },
      'proj.lora_B.weight': { data: eye, shape: [D, D] },
    });
    const xt = tensor(
      rand(N * D, 71).map((v) => 1 + Math.abs(v)),
      [N, D],
    );
    const x = f64(xt);
    const base = linear(x, W, b, N, D, D);
    const layer = net.at('proj');

    net.train();
    const y = f64(layer.forward(xt));
    let zeros = 0;
    for (let i = 0; i < N * D; i++) {
      const ratio = (y[i] - base[i]) / (2 * x[i]); // s = 2
      const isZero = Math.abs(ratio) < 1e-4;
      const isKept = Math.abs(ratio - 1 / (1 - p)) < 1e-4;
      expect(isZero || isKept, `element ${i}: ratio ${ratio}`).toBe(true);
      if (isZero) zeros++;
    }
    const sigma = Math.sqrt((p * (1 - p)) / (N * D));
    expect(Math.abs(zeros / (N * D) - p)).toBeLessThan(4 * sigma);

    net.eval();
    expectClose(
      layer.forward(xt),
      base.map((v, i) => v + 2 * x[i]),
      1e-6,
    );
  });
});

describe('several adapters on one layer', () => {
  it('each adapter has its own rank and scaling; forward uses the active one', () => {
    const net = tree({ proj: new Linear(IN, OUT) });
    const W = f64(net.at('proj').param('weight'));
    const b = f64(net.at('proj').param('bias'));
    const peft = getPeftModel(net, { peft_type: 'LORA', r: 2, lora_alpha: 2, target_modules: ['proj'] });
    peft.addAdapter('big', { peft_type: 'LORA', r: 4, lora_alpha: 2, use_rslora: true, target_modules: ['proj'] });
    const a1 = setAdapter(peft, {
      'proj.lora_A.weight': { data: rand(2 * IN, 81), shape: [2, IN] },
      'proj.lora_B.weight': { data: rand(OUT * 2, 82), shape: [OUT, 2] },
    });
    const a2 = setAdapter(
      peft,
      {
        'proj.lora_A.weight': { data: rand(4 * IN, 83), shape: [4, IN] },
        'proj.lora_B.weight': { data: rand(OUT * 4, 84), shape: [OUT, 4] },
      },
      'big',
    );
    const xt = tensor(rand(M * IN, 85), [M, IN]);
    const x = f64(xt);
    const base = linear(x, W, b, M, IN, OUT);
    const ref1 = loraRef({
      x,
      m: M,
      inF: IN,
      outF: OUT,
      r: 2,
      base,
      A: a1['proj.lora_A.weight'],
      B: a1['proj.lora_B.weight'],
      s: 1,
    });
    const ref2 = loraRef({
      x,
      m: M,
      inF: IN,
      outF: OUT,
      r: 4,
      base,
      A: a2['proj.lora_A.weight'],
      B: a2['proj.lora_B.weight'],
      s: 1,
    });
    const layer = net.at('proj');
    expectClose(layer.forward(xt), ref1, 1e-6);
    peft.setAdapter('big');
    expectClose(layer.forward(xt), ref2, 1e-6);
    expect(net.namedTrainableParameters().map(([k]) => k)).toEqual([
      'proj.lora_A.big.weight',
      'proj.lora_B.big.weight',
    ]);
    peft.disableAdapter(() => expectClose(layer.forward(xt), base, 1e-6));
    peft.deleteAdapter('big');
    expectClose(layer.forward(xt), ref1, 1e-6);
    expect(net.namedParameters().some(([k]) => k.includes('.big'))).toBe(false);
  });
});

describe('use_dora without @peftjs/dora', () => {
  it('explains which package to install', () => {
    expect(() =>
      getPeftModel(tree({ proj: new Linear(2, 2) }), { peft_type: 'LORA', use_dora: true, target_modules: ['proj'] }),
    ).toThrow(PeftError);
    expect(() =>
      getPeftModel(tree({ proj: new Linear(2, 2) }), { peft_type: 'LORA', use_dora: true, target_modules: ['proj'] }),
    ).toThrow(/use_dora=true needs the @peftjs\/dora package/);
  });
});

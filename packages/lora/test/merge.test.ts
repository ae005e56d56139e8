/**
 * Merging (reference doc §2.6): W ← W + transpose(B·A, fan_in_fan_out)·s; with lora_bias b ← b + s·b_B; unmerge
 * subtracts. Checked against float64 merged weights and against the merged weights PEFT wrote (golden folder).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Conv1D, Embedding, Linear } from '@peftjs/nn';
import { tensor } from '@peftjs/tensor';
import { describe, expect, it } from 'vitest';
import { getPeftModel, type LoraLayer } from '../src/index.js';
import {
  addArr,
  conv1d,
  expectClose,
  f64,
  goldenRoot,
  linear,
  loraEmbeddingRef,
  loraRef,
  matmul,
  rand,
  readF32,
  scaleArr,
  setAdapter,
  transpose,
  tree,
} from '@peftjs/test-utils';
import { loadPeftModel } from '@peftjs/registry/node';

const IN = 6;
const OUT = 5;
const R = 3;
const M = 4;

describe('merge / unmerge', () => {
  it('Linear: merged W = W + s·B·A; forward unchanged; unmerge restores W', () => {
    const net = tree({ proj: new Linear(IN, OUT) });
    const W = f64(net.at('proj').param('weight'));
    const b = f64(net.at('proj').param('bias'));
    const peft = getPeftModel(net, { peft_type: 'LORA', r: R, lora_alpha: 7, target_modules: ['proj'] });
    const v = setAdapter(peft, {
      'proj.lora_A.weight': { data: rand(R * IN, 1), shape: [R, IN] },
      'proj.lora_B.weight': { data: rand(OUT * R, 2), shape: [OUT, R] },
    });
    const s = 7 / R;
    const merged = addArr(W, scaleArr(matmul(v['proj.lora_B.weight'], v['proj.lora_A.weight'], OUT, R, IN), s));
    const layer = net.at('proj') as LoraLayer;
    const xt = tensor(rand(M * IN, 3), [M, IN]);
    const x = f64(xt);
    const ref = loraRef({
      x,
      m: M,
      inF: IN,
      outF: OUT,
      r: R,
      base: linear(x, W, b, M, IN, OUT),
      A: v['proj.lora_A.weight'],
      B: v['proj.lora_B.weight'],
      s,
    });
    expectClose(layer.forward(xt), ref, 1e-6);

    peft.merge();
    expect(layer.mergedAdapters).toEqual(['default']);
    expectClose(layer.baseLayer.param('weight'), merged, 1e-6);
    expectClose(layer.baseLayer.param('bias'), b, 0);
    expectClose(layer.forward(xt), ref, 1e-5);
    expectClose(layer.forward(xt), linear(x, merged, b, M, IN, OUT), 1e-6);
    // merging twice is a no-op
    peft.merge();
    expectClose(layer.baseLayer.param('weight'), merged, 1e-6);

    peft.unmerge();
    expect(layer.merged).toBe(false);
    expectClose(layer.baseLayer.param('weight'), W, 1e-6);
    expect(layer.baseLayer.param('weight').requiresGrad).toBe(false);
    expectClose(layer.forward(xt), ref, 1e-6);
  });

  it('Conv1D: merged W[in, out] = W + s·(B·A)ᵀ', () => {
    const net = tree({ c: new Conv1D(IN, OUT) });
    const W = f64(net.at('c').param('weight'));
    const b = f64(net.at('c').param('bias'));
    const peft = getPeftModel(net, {
      peft_type: 'LORA',
      r: R,
      lora_alpha: 2,
      target_modules: ['c'],
      fan_in_fan_out: true,
    });
    const v = setAdapter(peft, {
      'c.lora_A.weight': { data: rand(R * IN, 4), shape: [R, IN] },
      'c.lora_B.weight': { data: rand(OUT * R, 5), shape: [OUT, R] },
    });
    const s = 2 / R;
    const BA = matmul(v['c.lora_B.weight'], v['c.lora_A.weight'], OUT, R, IN);
    const merged = addArr(W, scaleArr(transpose(BA, OUT, IN), s));
    const xt = tensor(rand(M * IN, 6), [M, IN]);
    const x = f64(xt);
    const ref = loraRef({
      x,
      m: M,
      inF: IN,
      outF: OUT,
      r: R,
      base: conv1d(x, W, b, M, IN, OUT),
      A: v['c.lora_A.weight'],
      B: v['c.lora_B.weight'],
      s,
    });
    const layer = net.at('c') as LoraLayer;
    expectClose(layer.deltaWeight('default'), scaleArr(transpose(BA, OUT, IN), s), 1e-6);
    peft.merge();
    const w = layer.baseLayer.param('weight');
    expect(w.shape).toEqual([IN, OUT]);
    expectClose(w, merged, 1e-6);
    expectClose(layer.forward(xt), ref, 1e-5);
    peft.unmerge();
    expectClose(layer.baseLayer.param('weight'), W, 1e-6);
  });

  it('Embedding: merged W[num, dim] = W + s·(B·A)ᵀ', () => {
    const NUM = 9;
    const DIM = 4;
    const net = tree({ emb: new Embedding(NUM, DIM) });
    const W = f64(net.at('emb').param('weight'));
    const peft = getPeftModel(net, { peft_type: 'LORA', r: 2, lora_alpha: 5, target_modules: ['emb'] });
    const v = setAdapter(peft, {
      'emb.lora_embedding_A': { data: rand(2 * NUM, 7), shape: [2, NUM] },
      'emb.lora_embedding_B': { data: rand(DIM * 2, 8), shape: [DIM, 2] },
    });
    const BA = matmul(v['emb.lora_embedding_B'], v['emb.lora_embedding_A'], DIM, 2, NUM);
    const merged = addArr(W, scaleArr(transpose(BA, DIM, NUM), 2.5));
    const ids = [8, 0, 4, 4];
    const ref = loraEmbeddingRef(ids, W, v['emb.lora_embedding_A'], v['emb.lora_embedding_B'], NUM, DIM, 2, 2.5);
    peft.merge();
    const layer = net.at('emb') as LoraLayer;
    expectClose(layer.baseLayer.param('weight'), merged, 1e-6);
    expectClose(layer.forward(tensor(new Int32Array(ids), [4])), ref, 1e-5);
    peft.unmerge();
    expectClose(layer.baseLayer.param('weight'), W, 1e-6);
  });

  it('lora_bias: merged b = b + s·b_B; unmerge restores b', () => {
    const net = tree({ proj: new Linear(IN, OUT) });
    const b = f64(net.at('proj').param('bias'));
    const peft = getPeftModel(net, {
      peft_type: 'LORA',
      r: R,
      lora_alpha: 6,
      lora_bias: true,
      target_modules: ['proj'],
    });
    const v = setAdapter(peft, {
      'proj.lora_A.weight': { data: rand(R * IN, 9), shape: [R, IN] },
      'proj.lora_B.weight': { data: rand(OUT * R, 10), shape: [OUT, R] },
      'proj.lora_B.bias': { data: rand(OUT, 11), shape: [OUT] },
    });
    const layer = net.at('proj') as LoraLayer;
    const xt = tensor(rand(M * IN, 12), [M, IN]);
    const before = f64(layer.forward(xt));
    peft.merge();
    expectClose(layer.baseLayer.param('bias'), addArr(b, scaleArr(v['proj.lora_B.bias'], 2)), 1e-6);
    expectClose(layer.forward(xt), before, 1e-5);
    peft.unmerge();
    expectClose(layer.baseLayer.param('bias'), b, 1e-6);
  });

  it('two adapters merged, then unmerged last-first', () => {
    const net = tree({ proj: new Linear(IN, OUT) });
    const W = f64(net.at('proj').param('weight'));
    const peft = getPeftModel(net, { peft_type: 'LORA', r: R, lora_alpha: 3, target_modules: ['proj'] });
    peft.addAdapter('b', { peft_type: 'LORA', r: 2, lora_alpha: 1, target_modules: ['proj'] });
    const va = setAdapter(peft, {
      'proj.lora_A.weight': { data: rand(R * IN, 13), shape: [R, IN] },
      'proj.lora_B.weight': { data: rand(OUT * R, 14), shape: [OUT, R] },
    });
    const vb = setAdapter(
      peft,
      {
        'proj.lora_A.weight': { data: rand(2 * IN, 15), shape: [2, IN] },
        'proj.lora_B.weight': { data: rand(OUT * 2, 16), shape: [OUT, 2] },
      },
      'b',
    );
    peft.merge(['default', 'b']);
    const layer = net.at('proj') as LoraLayer;
    expect(layer.mergedAdapters).toEqual(['default', 'b']);
    const dA = matmul(va['proj.lora_B.weight'], va['proj.lora_A.weight'], OUT, R, IN);
    const dB = scaleArr(matmul(vb['proj.lora_B.weight'], vb['proj.lora_A.weight'], OUT, 2, IN), 0.5);
    expectClose(layer.baseLayer.param('weight'), addArr(addArr(W, dA), dB), 1e-6);
    peft.unmerge();
    expect(layer.mergedAdapters).toEqual([]);
    expectClose(layer.baseLayer.param('weight'), W, 1e-6);
  });

  it('mergeAndUnload returns the plain model with merged weights and original parameter names', () => {
    const net = tree({ 'blk.proj': new Linear(IN, OUT), 'blk.c': new Conv1D(IN, OUT) });
    const W = f64(net.at('blk.proj').param('weight'));
    const names = net.namedParameters().map(([k]) => k);
    const peft = getPeftModel(net, { peft_type: 'LORA', r: R, lora_alpha: R, target_modules: ['proj', 'c'] });
    const v = setAdapter(peft, {
      'blk.proj.lora_A.weight': { data: rand(R * IN, 17), shape: [R, IN] },
      'blk.proj.lora_B.weight': { data: rand(OUT * R, 18), shape: [OUT, R] },
    });
    const plain = peft.mergeAndUnload();
    expect(plain.getSubmodule('blk.proj')).toBeInstanceOf(Linear);
    expect(plain.getSubmodule('blk.c')).toBeInstanceOf(Conv1D);
    expect(plain.namedParameters().map(([k]) => k)).toEqual(names);
    const merged = addArr(W, matmul(v['blk.proj.lora_B.weight'], v['blk.proj.lora_A.weight'], OUT, R, IN));
    expectClose(plain.getSubmodule('blk.proj').param('weight'), merged, 1e-6);
  });
});

/** `merged.<path>.weight` → `<path>`. */
const pathOf = (k: string) => k.slice('merged.'.length, -'.weight'.length);

describe('golden: merged weights written by PEFT', () => {
  /** Load a golden case's base weights into a tree of the targeted layers, and its adapter with fromPretrained. */
  async function goldenCase(name: string, arch: string, make: (shape: number[]) => Linear | Conv1D) {
    const root = goldenRoot();
    const base = readF32(join(root, 'base', arch, 'model.safetensors'));
    const io = readF32(join(root, name, 'io.safetensors'));
    const mergedKeys = Object.keys(io).filter((k) => k.startsWith('merged.'));
    expect(mergedKeys.length).toBeGreaterThan(0);
    const modules: Record<string, Linear | Conv1D> = {};
    for (const k of mergedKeys) {
      const path = pathOf(k);
      const m = make(base[`${path}.weight`].shape);
      m.setParameter('weight', tensor(base[`${path}.weight`].data, base[`${path}.weight`].shape))?.dispose();
      const bias = base[`${path}.bias`];
      if (bias) m.setParameter('bias', tensor(bias.data, bias.shape))?.dispose();
      modules[path] = m;
    }
    const net = tree(modules);
    const peft = await loadPeftModel(net, join(root, name, 'adapter'), { isTrainable: true });
    return { net, peft, io, base, mergedKeys };
  }

  it('gpt2_lora_conv1d (Conv1D, fan_in_fan_out): every merged weight within 1e-4', async () => {
    const { net, peft, io, mergedKeys } = await goldenCase('gpt2_lora_conv1d', 'gpt2', ([i, o]) => new Conv1D(i, o));
    expect(mergedKeys).toHaveLength(6);
    // trainable params as PEFT counted them (meta.json trainable_params): every LoRA A and B
    const meta = JSON.parse(readFileSync(join(goldenRoot(), 'gpt2_lora_conv1d', 'meta.json'), 'utf8'));
    expect(peft.countTrainable().trainable).toBe(meta.trainable_params);
    const merged = peft.mergeAndUnload();
    expect(merged).toBe(net);
    for (const k of mergedKeys) expectClose(net.at(pathOf(k)).param('weight'), io[k].data, 1e-4);
  });

  it('llama_lora_qv (Linear): every merged weight within 1e-4, and our float64 merge agrees', async () => {
    const { net, peft, io, base, mergedKeys } = await goldenCase(
      'llama_lora_qv',
      'llama',
      ([o, i]) => new Linear(i, o, { bias: false }),
    );
    expect(mergedKeys.map((k) => k.split('.').at(-2)).sort()).toEqual(['q_proj', 'q_proj', 'v_proj', 'v_proj']);
    const adapter = readF32(join(goldenRoot(), 'llama_lora_qv', 'adapter', 'adapter_model.safetensors'));
    peft.merge();
    for (const k of mergedKeys) {
      const path = pathOf(k);
      const A = adapter[`base_model.model.${path}.lora_A.weight`];
      const B = adapter[`base_model.model.${path}.lora_B.weight`];
      const [r, inF] = A.shape;
      const outF = B.shape[0];
      const ours64 = addArr(base[`${path}.weight`].data, scaleArr(matmul(B.data, A.data, outF, r, inF), 16 / 8));
      expectClose(ours64, io[k].data, 1e-4); // the reference formula reproduces PEFT
      expectClose((net.at(path) as LoraLayer).baseLayer.param('weight'), io[k].data, 1e-4);
    }
  });
});

/**
 * LoRA through PeftModel: trainable parameters per bias mode (counted by hand), modules_to_save, and a save/load
 * round trip in PEFT's layout reproducing the float64 forward.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Embedding, Linear, type Module } from '@peftjs/nn';
import { tensor } from '@peftjs/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { getPeftModel } from '../src/index.js';
import { expectClose, f64, linear, loraRef, rand, setAdapter, tree } from '@peftjs/test-utils';
import { loadPeftModel, savePeftModel } from '@peftjs/registry/node';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** blk.q, blk.v: Linear(6, 5) (35 each); head: Linear(5, 2) (12); emb: Embedding(7, 6) (42) → 124. */
const model = () =>
  tree({ 'blk.q': new Linear(6, 5), 'blk.v': new Linear(6, 5), head: new Linear(5, 2), emb: new Embedding(7, 6) });
const BASE = 124;
/** r = 2 on q and v: A 2×6 + B 5×2 = 22 each. */
const LORA = 44;

const trainableNames = (m: Module) => m.namedTrainableParameters().map(([k]) => k);

describe('trainable parameters', () => {
  it('bias "none": only A and B', () => {
    const net = model();
    const peft = getPeftModel(net, { peft_type: 'LORA', r: 2, target_modules: ['q', 'v'] });
    expect(peft.countTrainable()).toEqual({ trainable: LORA, total: BASE + LORA });
    expect(trainableNames(net)).toEqual([
      'blk.q.lora_A.default.weight',
      'blk.q.lora_B.default.weight',
      'blk.v.lora_A.default.weight',
      'blk.v.lora_B.default.weight',
    ]);
    expect(peft.printTrainableParameters(() => {})).toBe(
      `trainable params: 44 || all params: 168 || trainable%: ${((100 * 44) / 168).toFixed(4)}`,
    );
  });

  it('bias "all": every bias of the model (5 + 5 + 2)', () => {
    const peft = getPeftModel(model(), { peft_type: 'LORA', r: 2, target_modules: ['q', 'v'], bias: 'all' });
    expect(peft.countTrainable()).toEqual({ trainable: LORA + 12, total: BASE + LORA });
    expect(Object.keys(peft.adapterStateDict())).toContain('base_model.model.head.bias');
  });

  it('bias "lora_only": the biases of adapted layers (5 + 5), saved as base_layer.bias', () => {
    const peft = getPeftModel(model(), { peft_type: 'LORA', r: 2, target_modules: ['q', 'v'], bias: 'lora_only' });
    expect(peft.countTrainable()).toEqual({ trainable: LORA + 10, total: BASE + LORA });
    expect(Object.keys(peft.adapterStateDict()).filter((k) => k.endsWith('bias'))).toEqual([
      'base_model.model.blk.q.base_layer.bias',
      'base_model.model.blk.v.base_layer.bias',
    ]);
  });

  it('modules_to_save adds a trainable copy of the head (12)', () => {
    const peft = getPeftModel(model(), {
      peft_type: 'LORA',
      r: 2,
      target_modules: ['q', 'v'],
      modules_to_save: ['head'],
    });
    expect(peft.countTrainable()).toEqual({ trainable: LORA + 12, total: BASE + LORA + 12 });
    expect(Object.keys(peft.adapterStateDict())).toContain('base_model.model.head.weight');
  });

  it('rank_pattern changes the count: r 4 on v → 22 + (4×6 + 5×4)', () => {
    const peft = getPeftModel(model(), { peft_type: 'LORA', r: 2, target_modules: ['q', 'v'], rank_pattern: { v: 4 } });
    expect(peft.countTrainable().trainable).toBe(22 + 44);
  });
});

describe('save / load round trip', () => {
  it("fromPretrained on a fresh base reproduces the float64 forward; keys are PEFT's", async () => {
    const net = model();
    const base = Object.fromEntries(net.namedParameters().map(([k, t]) => [k, t.detach()]));
    const W = f64(net.at('blk.q').param('weight'));
    const b = f64(net.at('blk.q').param('bias'));
    const peft = getPeftModel(net, { peft_type: 'LORA', r: 2, lora_alpha: 3, target_modules: ['q'] });
    const v = setAdapter(peft, {
      'blk.q.lora_A.weight': { data: rand(12, 1), shape: [2, 6] },
      'blk.q.lora_B.weight': { data: rand(10, 2), shape: [5, 2] },
    });
    const dir = await mkdtemp(join(tmpdir(), 'peftjs-lora-'));
    dirs.push(dir);
    await savePeftModel(peft, dir);

    const fresh = model();
    fresh.loadStateDict(base);
    const loaded = await loadPeftModel(fresh, dir);
    expect(Object.keys(loaded.adapterStateDict())).toEqual([
      'base_model.model.blk.q.lora_A.weight',
      'base_model.model.blk.q.lora_B.weight',
    ]);
    expect(loaded.countTrainable().trainable).toBe(0);
    const xt = tensor(rand(3 * 6, 3), [3, 6]);
    const x = f64(xt);
    const ref = loraRef({
      x,
      m: 3,
      inF: 6,
      outF: 5,
      r: 2,
      base: linear(x, W, b, 3, 6, 5),
      A: v['blk.q.lora_A.weight'],
      B: v['blk.q.lora_B.weight'],
      s: 1.5,
    });
    expectClose(fresh.at('blk.q').forward(xt), ref, 1e-6);
    expect(loaded.peftConfig()).toMatchObject({ r: 2, lora_alpha: 3, target_modules: ['q'] });
  });
});

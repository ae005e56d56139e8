/**
 * The memory model against what the backend holds: the adapter term (values, gradients, AdamW's two moments) equals
 * the bytes of those tensors after a real training step; the base term counts the stored formats.
 */
import '@peftjs/lora';
import { LlamaForCausalLM } from '@peftjs/models';
import { AdapterLayer, getPeftModel } from '@peftjs/registry';
import { manualSeed, tensor, tidy } from '@peftjs/tensor';
import { AdamW, trainableParams } from '@peftjs/trainer';
import { describe, expect, it } from 'vitest';
import { defaultBaseBytes, linearModules, MemoryModel, makePlanFile, planToLoraConfig } from '../src/index.js';

describe('memory model', () => {
  it('adapter bytes = values + gradients + AdamW moments measured after one step', async () => {
    manualSeed(2);
    const model = new LlamaForCausalLM({
      model_type: 'llama',
      vocab_size: 40,
      hidden_size: 32,
      intermediate_size: 40,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
    });
    const modules = linearModules(model);
    expect(modules).toHaveLength(14);
    const ranks = [0, 2, 4, 8, 16];
    const plan = modules.map((_, i) => ({ bits: 16, rank: ranks[i % ranks.length]! }));
    const peft = getPeftModel(
      model,
      planToLoraConfig(makePlanFile(modules, plan, { memoryBytes: 0, budgetBytes: 0, calibrationLoss: 0 })),
    );
    const params = trainableParams(peft);
    const opt = new AdamW(params, { lr: 1e-3 });
    const ids = tensor([1, 2, 3, 4, 5, 6], [1, 6], { dtype: 'i32' });
    const loss = tidy(() => {
      const l = peft.forward({ inputIds: ids, labels: ids }).loss!;
      l.backward();
      return l;
    });
    opt.step();
    let measured = 0;
    for (const p of params) measured += p.get().bytes + p.get().grad!.bytes;
    for (const t of Object.values(opt.stateDict().tensors)) measured += t.bytes;
    const memory = new MemoryModel(modules);
    const modelled = plan.reduce((s, c, i) => s + memory.module(i, c).adapter, 0);
    expect(modelled).toBe(measured);
    loss.dispose();
    ids.dispose();
    opt.dispose();
    peft.dispose();
  });

  it('base bytes by format: float16, LLM.int8 (+ row scales), NF4 (+ 64-block absmax)', () => {
    expect(defaultBaseBytes(16, 64, 48)).toBe(2 * 64 * 48);
    expect(defaultBaseBytes(8, 64, 48)).toBe(64 * 48 + 4 * 64);
    expect(defaultBaseBytes(4, 64, 48)).toBe((64 * 48) / 2 + 4 * ((64 * 48) / 64));
    expect(defaultBaseBytes(4, 3, 7)).toBe(11 + 4); // 21 codes → 11 bytes, one partial block
  });
});

describe('memory model with the bitsandbytes layers (quant-nf4)', () => {
  it('equals the bytes the realised plan holds: quantized bases + adapter training state', async () => {
    const { bnbQuantizer, bnbBaseBytes, quantizedCopy } = await import('../src/index.js');
    manualSeed(4);
    const base = new LlamaForCausalLM({
      model_type: 'llama',
      vocab_size: 40,
      hidden_size: 64,
      intermediate_size: 96,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
    });
    const modules = linearModules(base);
    const bits = [4, 8, 16];
    const ranks = [0, 2, 4, 8, 16];
    const plan = modules.map((_, i) => ({ bits: bits[i % 3]!, rank: ranks[i % 5]! }));
    const model = quantizedCopy({ model: base, modules, quantizer: bnbQuantizer }, plan);
    const peft = getPeftModel(
      model,
      planToLoraConfig(makePlanFile(modules, plan, { memoryBytes: 0, budgetBytes: 0, calibrationLoss: 0 })),
    );
    const params = trainableParams(peft);
    const opt = new AdamW(params, { lr: 1e-3 });
    const ids = tensor([1, 2, 3, 4, 5, 6], [1, 6], { dtype: 'i32' });
    const loss = tidy(() => {
      const l = peft.forward({ inputIds: ids, labels: ids }).loss!;
      l.backward();
      return l;
    });
    opt.step();
    // what the backend holds for the planned modules: each base layer's tensors (weight codes, scales), and the
    // adapter's values, gradients and AdamW moments
    let measured = 0;
    for (const m of modules) {
      const cur = peft.model.getSubmodule(m.path);
      const owner = cur instanceof AdapterLayer ? cur.baseLayer : cur;
      for (const [, t] of owner.namedParameters()) measured += t.bytes;
      for (const [, t] of owner.namedBuffers()) measured += t.bytes;
    }
    for (const p of params) measured += p.get().bytes + p.get().grad!.bytes;
    for (const t of Object.values(opt.stateDict().tensors)) measured += t.bytes;
    const modelled = new MemoryModel(modules, { baseBytes: bnbBaseBytes }).total(plan);
    expect(Math.abs(modelled - measured) / measured).toBeLessThanOrEqual(0.01);
    expect(modelled).toBe(measured);
    loss.dispose();
    ids.dispose();
    opt.dispose();
    peft.dispose();
    base.dispose();
  });
});

/**
 * Real fitness on a tiny LLaMA: a plan is measured by quantizing a copy of the base (stand-in quantizer), adding
 * LoRA at its ranks, fine-tuning a few seeded steps and scoring a held-out split. Deterministic; the base model is
 * left untouched; the search over it fits the budget and is no worse than the uniform plans that fit.
 */
import { LlamaForCausalLM } from '@peftjs/models';
import { manualSeed } from '@peftjs/tensor';
import { describe, expect, it } from 'vitest';
import {
  linearModules,
  MemoryModel,
  measureSensitivity,
  planFitness,
  searchPlans,
  simulatedQuantizer,
} from '../src/index.js';

const CONFIG = {
  model_type: 'llama',
  vocab_size: 48,
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-6,
};
const seqs = (n: number, offset: number) =>
  Array.from({ length: n }, (_, i) => ({
    inputIds: Array.from({ length: 12 }, (_, j) => ((((i + offset) * 5) % 48) + j * (1 + ((i + offset) % 3))) % 48),
  }));

describe('QR-Adaptor fitness on a tiny LLaMA', () => {
  manualSeed(11);
  const model = new LlamaForCausalLM(CONFIG);
  const modules = linearModules(model, (p) => /(q_proj|v_proj)$/.test(p));
  const space = { bits: [4, 8, 16], ranks: [0, 2, 4] };
  const opts = {
    model,
    modules,
    quantizer: simulatedQuantizer,
    calibration: seqs(8, 0),
    heldOut: seqs(4, 100),
    steps: 3,
    lr: 1e-2,
    seed: 3,
  };

  it('is deterministic and leaves the base model as it was', async () => {
    expect(modules.map((m) => m.path)).toEqual([
      'model.layers.0.self_attn.q_proj',
      'model.layers.0.self_attn.v_proj',
      'model.layers.1.self_attn.q_proj',
      'model.layers.1.self_attn.v_proj',
    ]);
    const before = [...(model.getSubmodule(modules[0]!.path).param('weight').dataSync() as Float32Array)];
    const fitness = planFitness(opts);
    const plan = modules.map((_, i) => ({ bits: i % 2 ? 4 : 8, rank: i % 2 ? 4 : 2 }));
    const a = await fitness(plan);
    const b = await fitness(plan);
    expect(Number.isFinite(a)).toBe(true);
    expect(a).toBe(b);
    expect([...(model.getSubmodule(modules[0]!.path).param('weight').dataSync() as Float32Array)]).toEqual(before);
    // no adapter at all: the quantized base's own held-out loss, different from an adapted plan's
    const bare = await fitness(modules.map(() => ({ bits: 4, rank: 0 })));
    expect(bare).not.toBe(a);
  });

  it('sensitivity, then a search that fits the budget and beats every fitting uniform plan', async () => {
    const sens = await measureSensitivity({ ...opts, space });
    expect(sens.quant).toHaveLength(4);
    expect(Math.min(...sens.quant)).toBe(0);
    expect(Math.max(...sens.quant)).toBe(1);
    const memory = new MemoryModel(modules);
    const lo = memory.total(modules.map(() => ({ bits: 4, rank: 0 })));
    const hi = memory.total(modules.map(() => ({ bits: 16, rank: 4 })));
    const budget = Math.round((lo + hi) / 2);
    const r = await searchPlans({
      modules,
      space,
      budgetBytes: budget,
      sensitivity: sens,
      evaluate: planFitness(opts),
      populationSize: 4,
      generations: 1,
      refinementRounds: 1,
      seed: 1,
    });
    expect(r.best.memoryBytes).toBeLessThanOrEqual(budget);
    expect(r.uniform.length).toBeGreaterThan(0);
    for (const u of r.uniform) expect(r.best.loss).toBeLessThanOrEqual(u.loss);
  }, 120_000);
});

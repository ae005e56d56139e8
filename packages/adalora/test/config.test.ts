import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { goldenRoot } from '@peftjs/test-utils';
import { describe, expect, it } from 'vitest';
import { adaLoraConfigToJSON, normalizeAdaLoraConfig } from '../src/index.js';

const base = { peft_type: 'ADALORA', total_step: 100 };

describe('AdaLoraConfig', () => {
  it('fills PEFT 0.21 defaults', () => {
    const c = normalizeAdaLoraConfig(base);
    expect(c).toMatchObject({
      target_r: 8,
      init_r: 12,
      tinit: 0,
      tfinal: 0,
      deltaT: 1,
      beta1: 0.85,
      beta2: 0.85,
      orth_reg_weight: 0.5,
      lora_alpha: 8,
      lora_dropout: 0,
      rank_pattern: null,
    });
  });

  it('refuses what PEFT refuses, with the field named', () => {
    expect(() => normalizeAdaLoraConfig({ peft_type: 'ADALORA' })).toThrow(/total_step/);
    expect(() => normalizeAdaLoraConfig({ ...base, total_step: 0 })).toThrow(/total_step/);
    expect(() => normalizeAdaLoraConfig({ ...base, tinit: 60, tfinal: 40 })).toThrow(/budgeting phase/);
    expect(() => normalizeAdaLoraConfig({ ...base, use_dora: true })).toThrow(/DoRA/);
    expect(() => normalizeAdaLoraConfig({ ...base, loftq_config: { loftq_bits: 4 } })).toThrow(/LoftQ/);
    expect(() => normalizeAdaLoraConfig({ ...base, orth_reg_weight: -1 })).toThrow(/orth_reg_weight/);
    expect(() => normalizeAdaLoraConfig({ ...base, beta1: 1 })).toThrow(/beta1/);
    expect(() => normalizeAdaLoraConfig({ ...base, target_r: 16, init_r: 12 })).toThrow(/target_r/);
    expect(() => normalizeAdaLoraConfig({ ...base, rank_pattern: { x: [1, 'a'] } })).toThrow(/rank_pattern/);
  });

  it('writes every field PEFT writes (keys of a PEFT-saved adapter_config.json), rank_pattern without adapter names', () => {
    const ref = JSON.parse(
      readFileSync(join(goldenRoot(), 'llama_adalora_allocate', 'end', 'adapter_config.json'), 'utf8'),
    );
    const c = normalizeAdaLoraConfig(ref);
    c.rank_pattern = { 'model.layers.0.self_attn.q_proj.lora_E.default': [true, false] };
    const json = adaLoraConfigToJSON(c);
    // peft_version is the writer's own (kept from a loaded file by the registry), not the method's
    expect(Object.keys(json).sort()).toEqual(
      Object.keys(ref)
        .filter((k) => k !== 'peft_version')
        .sort(),
    );
    expect(json.rank_pattern).toEqual({ 'model.layers.0.self_attn.q_proj.lora_E': [true, false] });
    for (const k of ['init_r', 'target_r', 'tinit', 'tfinal', 'deltaT', 'beta1', 'beta2', 'total_step', 'lora_alpha'])
      expect(json[k], k).toEqual(ref[k]);
  });
});

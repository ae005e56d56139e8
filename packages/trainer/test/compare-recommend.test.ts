import '@peftjs/lora';
import '@peftjs/dora';
import { loraPresetConfig } from '@peftjs/lora';
import { registerPreset } from '@peftjs/registry';
import { describe, expect, it } from 'vitest';
import { availableMethods, defaultMethodConfig, LLAMA_LINEAR_TARGETS, recommend } from '../src/index.js';

const both = ['lora', 'dora'];
const GiB = 2 ** 30;

// A third-party low-memory preset (as a quantizing package would register one): recommend() knows it only by role.
registerPreset({
  name: 'lowmem',
  method: 'lora',
  summary: 'LoRA on a 4-bit base',
  config: (o) => loraPresetConfig(o),
  recommend: { role: 'low-memory', bytesPerParam: 2.55, reason: '4-bit base weights' },
});

describe('recommend', () => {
  it('small data → low rank on q/v; DoRA for a small model when it is available', () => {
    const r = recommend({
      modelParams: 125e6,
      task: 'causal-lm',
      numExamples: 150,
      available: both,
      memoryBytes: 16 * GiB,
    });
    expect(r.method).toBe('dora');
    expect(r.config).toMatchObject({
      peft_type: 'LORA',
      use_dora: true,
      task_type: 'CAUSAL_LM',
      r: 4,
      lora_alpha: 8,
      lora_dropout: 0.1,
    });
    expect(r.config.target_modules).toEqual(['q_proj', 'v_proj']);
    expect(r.training.epochs).toBe(5);
    expect(r.reasons.some((s) => /very small data/.test(s))).toBe(true);

    const r8 = recommend({ modelParams: 125e6, task: 'causal-lm', numExamples: 800, available: ['lora'] });
    expect(r8.method).toBe('lora');
    expect(r8.config.r).toBe(8);
    expect(r8.config.use_dora).toBeUndefined();
    expect(r8.warnings.some((w) => /quality-first method would suit this case, but none is installed/.test(w))).toBe(
      true,
    );
  });

  it('only recommends registered presets: by default what the registry lists', () => {
    expect(availableMethods()).toEqual(['lora', 'dora', 'lowmem']);
    const r = recommend({ modelParams: 1e6, task: 'causal-lm', numExamples: 10, priority: 'efficiency' });
    expect(r.method).toBe('lora');
    expect(() => recommend({ modelParams: 1e6, task: 'causal-lm', numExamples: 10, available: [] })).toThrow(
      /no installed method offers a default recommendation/,
    );
  });

  it('memory-starved big models: a low-memory preset when one is installed, else the default with a warning', () => {
    const opts = {
      modelParams: 7e9,
      task: 'causal-lm' as const,
      numExamples: 5000,
      memoryBytes: 16 * GiB,
      priority: 'quality' as const,
    };
    const withQ = recommend({ ...opts, available: ['lora', 'dora', 'lowmem'] });
    expect(withQ.method).toBe('lowmem');
    expect(withQ.reasons[0]).toMatch(/for lora on 7\.0B params: lowmem .*4-bit base weights/);
    const noQ = recommend({ ...opts, available: both });
    expect(noQ.method).toBe('lora');
    expect(noQ.reasons[0]).toMatch(/no low-memory method is installed/);
    expect(noQ.warnings.some((w) => /may not fit/.test(w))).toBe(true);
    expect(noQ.training.lr).toBe(2e-4);
  });

  it('quality first picks DoRA when memory allows; not when it does not', () => {
    const ok = recommend({
      modelParams: 1e9,
      task: 'causal-lm',
      numExamples: 5000,
      memoryBytes: 64 * GiB,
      priority: 'quality',
      available: both,
    });
    expect(ok.method).toBe('dora');
    expect(ok.config).toMatchObject({ r: 16, target_modules: LLAMA_LINEAR_TARGETS });
    // 1e9 params: LoRA needs ~6 GB, DoRA ~10 GB
    const tight = recommend({
      modelParams: 1e9,
      task: 'causal-lm',
      numExamples: 5000,
      memoryBytes: 8e9,
      priority: 'quality',
      available: both,
    });
    expect(tight.method).toBe('lora');
    expect(tight.warnings.some((w) => /dora needs/.test(w))).toBe(true);
  });

  it('large data → higher rank on every linear layer (16 for ≥7B); balanced mid-size models get LoRA', () => {
    const big = recommend({ modelParams: 1e9, task: 'causal-lm', numExamples: 50_000, available: both });
    expect(big.method).toBe('lora');
    expect(big.config).toMatchObject({ r: 32, lora_alpha: 64, lora_dropout: 0.05 });
    expect(big.training.epochs).toBe(1);
    expect(recommend({ modelParams: 8e9, task: 'causal-lm', numExamples: 50_000, available: both }).config.r).toBe(16);
    const tiny = recommend({ modelParams: 759_296, task: 'causal-lm', numExamples: 50_000, available: both });
    expect(tiny.config).toMatchObject({ r: 8, target_modules: LLAMA_LINEAR_TARGETS });
    expect(tiny.reasons.some((s) => /tiny model/.test(s))).toBe(true);
  });

  it('efficiency first halves the rank and keeps q/v', () => {
    const r = recommend({
      modelParams: 1e9,
      task: 'causal-lm',
      numExamples: 5000,
      priority: 'efficiency',
      available: both,
    });
    expect(r.method).toBe('lora');
    expect(r.config).toMatchObject({ r: 8, target_modules: ['q_proj', 'v_proj'] });
  });

  it('classification trains the head in full; model types name their q/v modules', () => {
    const r = recommend({
      modelParams: 110e6,
      task: 'seq-cls',
      numExamples: 2000,
      modelType: 'bert',
      priority: 'efficiency',
      available: both,
    });
    expect(r.config).toMatchObject({
      task_type: 'SEQ_CLS',
      modules_to_save: ['classifier'],
      target_modules: ['query', 'value'],
    });
    const g = recommend({
      modelParams: 124e6,
      task: 'causal-lm',
      numExamples: 300,
      modelType: 'gpt2',
      available: ['lora'],
    });
    expect(g.config.target_modules).toEqual(['c_attn']);
    const u = recommend({
      modelParams: 124e6,
      task: 'causal-lm',
      numExamples: 300,
      modelType: 'mamba',
      available: ['lora'],
    });
    expect(u.config.target_modules).toBe('all-linear');
  });

  it('the recommended config is valid for the registered method', async () => {
    const { getAdapterMethod } = await import('@peftjs/registry');
    const r = recommend({ modelParams: 1e6, task: 'causal-lm', numExamples: 5000 });
    expect(() => getAdapterMethod('lora').normalizeConfig({ ...r.config })).not.toThrow();
  });

  it('rejects bad input', () => {
    expect(() => recommend({ modelParams: 0, task: 'causal-lm', numExamples: 1 })).toThrow(/modelParams/);
    expect(() => recommend({ modelParams: 1e6, task: 'causal-lm', numExamples: -1 })).toThrow(/numExamples/);
    expect(() => recommend({ modelParams: 1e6, task: 'causal-lm', numExamples: 1, memoryBytes: 0 })).toThrow(
      /memoryBytes/,
    );
    expect(() => recommend({ modelParams: 1e6, task: 'bogus' as never, numExamples: 1 })).toThrow(/unknown task/);
  });
});

describe('defaultMethodConfig', () => {
  it('LoRA r 8, alpha 16, dropout 0.05 on every LLaMA linear layer; unknown names list what exists', () => {
    expect(defaultMethodConfig('lora')).toEqual({
      peft_type: 'LORA',
      r: 8,
      lora_alpha: 16,
      lora_dropout: 0.05,
      target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
    });
    expect(defaultMethodConfig('dora')).toMatchObject({ peft_type: 'LORA', use_dora: true, r: 8 });
    expect(() => defaultMethodConfig('nope')).toThrow(/unknown method 'nope' \(available: lora, dora, lowmem\)/);
  });
});

/**
 * LoraConfig: PEFT 0.21 defaults, PEFT's own validation, pattern lookup (get_pattern_key), and adapter_config.json
 * compared with files PEFT wrote (golden folder).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Linear } from '@peftjs/nn';
import { getAdapterMethodByPeftType, PeftConfigError } from '@peftjs/registry';
import { describe, expect, it } from 'vitest';
import { getPeftModel, loraConfigToJSON, loraMethod, normalizeLoraConfig, patternValue } from '../src/index.js';
import { goldenRoot, tree } from '@peftjs/test-utils';

describe('normalizeLoraConfig', () => {
  it('fills PEFT 0.21 defaults', () => {
    const c = normalizeLoraConfig({ peft_type: 'LORA', target_modules: ['q_proj'] });
    expect(c).toMatchObject({
      r: 8,
      lora_alpha: 8,
      lora_dropout: 0,
      fan_in_fan_out: false,
      bias: 'none',
      use_rslora: false,
      init_lora_weights: true,
      rank_pattern: {},
      alpha_pattern: {},
      use_dora: false,
      lora_bias: false,
      modules_to_save: null,
      layers_to_transform: null,
      task_type: null,
    });
  });

  it('is the registered LORA method', () => {
    expect(getAdapterMethodByPeftType('LORA')).toBe(loraMethod);
    expect(loraMethod.defaultTargets?.('llama')).toEqual(['q_proj', 'v_proj']);
    expect(loraMethod.defaultTargets?.('gpt2')).toEqual(['c_attn']);
    expect(loraMethod.defaultTargets?.('bert')).toEqual(['query', 'value']);
    expect(loraMethod.defaultTargets?.(undefined)).toBeUndefined();
  });

  it('rejects what PEFT rejects, naming the field', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ r: 0 }, 'r'],
      [{ r: 2.5 }, 'r'],
      [{ r: '8' }, 'r'],
      [{ lora_alpha: 'x' }, 'lora_alpha'],
      [{ lora_alpha: Number.NaN }, 'lora_alpha'],
      [{ lora_dropout: 1 }, 'lora_dropout'],
      [{ lora_dropout: -0.1 }, 'lora_dropout'],
      [{ bias: 'some' }, 'bias'],
      [{ use_rslora: 1 }, 'use_rslora'],
      [{ fan_in_fan_out: 'yes' }, 'fan_in_fan_out'],
      [{ init_lora_weights: 'pissa' }, 'init_lora_weights'],
      [{ rank_pattern: { q: 'x' } }, 'rank_pattern'],
      [{ rank_pattern: { q: 1.5 } }, 'rank_pattern'],
      [{ rank_pattern: [] }, 'rank_pattern'],
      [{ alpha_pattern: { q: 'x' } }, 'alpha_pattern'],
      [{ use_dora: true, lora_bias: true }, 'lora_bias'],
      [{ target_modules: '.*q', layers_to_transform: 0 }, 'layers_to_transform'],
      [{ target_modules: '.*q', layers_pattern: 'layers' }, 'layers_pattern'],
      [{ target_modules: ['q'], layers_pattern: 'layers' }, 'layers_pattern'],
      [{ loftq_config: { loftq_bits: 4 } }, 'loftq_config'],
      [{ layer_replication: [[0, 1]] }, 'layer_replication'],
      [{ use_qalora: true }, 'use_qalora'],
      [{ target_parameters: ['experts.w'] }, 'target_parameters'],
      [{ peft_type: 'IA3' }, 'peft_type'],
    ];
    for (const [raw, fieldName] of cases) {
      let err: unknown;
      try {
        normalizeLoraConfig({ peft_type: 'LORA', ...raw });
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(raw)).toBeInstanceOf(PeftConfigError);
      expect((err as PeftConfigError).field, JSON.stringify(raw)).toBe(fieldName);
    }
  });

  it('accepts unsupported fields at their PEFT defaults (as PEFT writes them)', () => {
    expect(() =>
      normalizeLoraConfig({
        peft_type: 'LORA',
        loftq_config: {},
        use_qalora: false,
        eva_config: null,
        init_lora_weights: 'gaussian',
      }),
    ).not.toThrow();
  });
});

describe('patternValue (PEFT get_pattern_key: re.match(rf"(.*\\.)?({k})$", name), first key wins)', () => {
  it('matches on dot boundaries at the end of the name, in key order', () => {
    const p = { 'layers\\.1\\.q_proj': 5, q_proj: 3, 'mlp\\..*': 7 };
    expect(patternValue(p, 'model.layers.1.q_proj')).toBe(5);
    expect(patternValue(p, 'model.layers.0.q_proj')).toBe(3);
    expect(patternValue(p, 'q_proj')).toBe(3);
    expect(patternValue(p, 'model.layers.0.xq_proj')).toBeUndefined();
    expect(patternValue(p, 'model.layers.0.q_proj.inner')).toBeUndefined();
    expect(patternValue(p, 'model.layers.0.mlp.up_proj')).toBe(7);
    expect(patternValue({ q_proj: 3, 'layers\\.1\\.q_proj': 5 }, 'model.layers.1.q_proj')).toBe(3);
  });
});

describe('adapter_config.json', () => {
  it('a config loaded from a PEFT file is written back identically', async () => {
    for (const name of ['llama_lora_qv', 'gpt2_lora_conv1d']) {
      const dir = join(goldenRoot(), name, 'adapter');
      const peftJson = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
      const targets = peftJson.target_modules as string[];
      const net = tree(Object.fromEntries(targets.map((t, i) => [`m${i}.${t}`, new Linear(4, 4)])));
      const peft = getPeftModel(net, peftJson);
      expect(peft.adapterConfigJSON()).toEqual(peftJson);
    }
  });

  it("a new config writes every field PEFT 0.21 writes (peft_version is PEFT's own)", () => {
    const peftJson = JSON.parse(
      readFileSync(join(goldenRoot(), 'llama_lora_qv', 'adapter', 'adapter_config.json'), 'utf8'),
    );
    const ours = loraConfigToJSON(
      normalizeLoraConfig({ peft_type: 'LORA', r: 4, lora_alpha: 8, target_modules: ['q_proj'] }),
    );
    const expected = Object.keys(peftJson)
      .filter((k) => k !== 'peft_version')
      .sort();
    expect(Object.keys(ours).sort()).toEqual(expected);
    expect(ours).toMatchObject({
      r: 4,
      lora_alpha: 8,
      target_modules: ['q_proj'],
      peft_type: 'LORA',
      inference_mode: true,
    });
    const net = tree({ q_proj: new Linear(2, 2) });
    const json = getPeftModel(net, { peft_type: 'LORA', target_modules: ['q_proj'] }).adapterConfigJSON();
    expect(Object.keys(json)).toEqual(Object.keys(json).sort());
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  configToJson,
  createModel,
  parseBertConfig,
  parseGPT2Config,
  parseLlamaConfig,
  type RawConfig,
  resolveArchitecture,
  ropeInvFreq,
} from '../src/index.js';
import { goldenRoot } from './helpers/golden.js';

const golden = (arch: string): RawConfig =>
  JSON.parse(readFileSync(join(goldenRoot(), 'base', arch, 'config.json'), 'utf8')) as RawConfig;

const tinyLlama: RawConfig = {
  model_type: 'llama',
  vocab_size: 32,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 1,
  num_attention_heads: 4,
};

describe('config.json parsing', () => {
  it('reads the golden configs (transformers 5 rope_parameters included)', () => {
    const l = parseLlamaConfig(golden('llama'));
    expect(l).toMatchObject({
      hidden_size: 64,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 16,
      rms_norm_eps: 1e-6,
      rope_theta: 10000,
      rope_scaling: { rope_type: 'default' },
      tie_word_embeddings: false,
      attention_bias: false,
      pad_token_id: null,
    });
    expect(parseBertConfig(golden('bert'))).toMatchObject({
      layer_norm_eps: 1e-12,
      hidden_act: 'gelu',
      num_labels: 2,
      pad_token_id: 0,
      type_vocab_size: 2,
      problem_type: null,
    });
    expect(parseGPT2Config(golden('gpt2'))).toMatchObject({
      activation_function: 'gelu_new',
      n_inner: 256,
      layer_norm_epsilon: 1e-5,
      tie_word_embeddings: true,
      scale_attn_weights: true,
    });
  });

  it('fills Hugging Face defaults and derives head_dim, kv heads and num_labels', () => {
    const l = parseLlamaConfig(tinyLlama);
    expect(l).toMatchObject({
      head_dim: 4,
      num_key_value_heads: 4,
      hidden_act: 'silu',
      rope_theta: 10000,
      tie_word_embeddings: false,
    });
    expect(parseBertConfig({ vocab_size: 10, id2label: { 0: 'a', 1: 'b', 2: 'c' } }).num_labels).toBe(3);
    expect(parseBertConfig({ vocab_size: 10, num_labels: 1 }).num_labels).toBe(1);
  });

  it('reads legacy rope_theta / rope_scaling and the supported scaling types', () => {
    expect(parseLlamaConfig({ ...tinyLlama, rope_theta: 500000, rope_scaling: null })).toMatchObject({
      rope_theta: 500000,
      rope_scaling: { rope_type: 'default' },
    });
    expect(parseLlamaConfig({ ...tinyLlama, rope_scaling: { type: 'linear', factor: 4 } }).rope_scaling).toEqual({
      rope_type: 'linear',
      factor: 4,
    });
    const l3 = {
      rope_type: 'llama3',
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
      rope_theta: 500000,
    };
    const c = parseLlamaConfig({ ...tinyLlama, rope_parameters: l3 });
    expect(c.rope_theta).toBe(500000);
    expect(c.rope_scaling).toMatchObject({ rope_type: 'llama3', factor: 8 });
  });

  it('refuses what it does not implement, saying what and why', () => {
    const bad = (f: () => unknown, re: RegExp) => {
      expect(f).toThrow(ConfigError);
      expect(f).toThrow(re);
    };
    bad(
      () => parseLlamaConfig({ ...tinyLlama, rope_scaling: { rope_type: 'yarn', factor: 2 } }),
      /rope_type 'yarn' is not supported \(supported: default, linear, llama3\)/,
    );
    bad(
      () => parseLlamaConfig({ ...tinyLlama, rope_parameters: { rope_type: 'default', partial_rotary_factor: 0.5 } }),
      /partial_rotary_factor/,
    );
    bad(() => parseLlamaConfig({ ...tinyLlama, hidden_size: '16' }), /'hidden_size' must be an integer >= 1, got "16"/);
    bad(() => parseLlamaConfig({ ...tinyLlama, vocab_size: undefined }), /required field 'vocab_size' is missing/);
    bad(() => parseLlamaConfig({ ...tinyLlama, num_key_value_heads: 3 }), /multiple of num_key_value_heads/);
    bad(
      () => parseLlamaConfig({ ...tinyLlama, hidden_act: 'gelu_10' }),
      /activation 'gelu_10' in 'hidden_act' is not supported/,
    );
    bad(() => parseLlamaConfig({ ...tinyLlama, attention_bias: 'yes' }), /'attention_bias' must be a boolean/);
    bad(
      () => parseBertConfig({ vocab_size: 10, position_embedding_type: 'relative_key' }),
      /position_embedding_type="relative_key" is not supported/,
    );
    bad(() => parseBertConfig({ vocab_size: 10, is_decoder: true }), /is_decoder=true is not supported/);
    bad(() => parseBertConfig({ vocab_size: 10, hidden_dropout_prob: 1 }), /probability below 1/);
    bad(() => parseGPT2Config({ vocab_size: 10, add_cross_attention: true }), /cross-attention/);
    bad(() => parseGPT2Config({ vocab_size: 10, n_embd: 10, n_head: 4 }), /not divisible/);
    bad(
      () => resolveArchitecture({ model_type: 'mistral', architectures: ['MistralForCausalLM'] }),
      /'MistralForCausalLM' is not supported \(supported: LlamaForCausalLM, BertForSequenceClassification, GPT2LMHeadModel\)/,
    );
    bad(
      () => resolveArchitecture({ model_type: 'bert', architectures: ['LlamaForCausalLM'] }),
      /needs model_type 'llama'/,
    );
    bad(() => resolveArchitecture({ model_type: 'llama' }), /names no architecture/);
  });

  it('attention_bias / mlp_bias give the projections biases', () => {
    const m = createModel({ ...tinyLlama, architectures: ['LlamaForCausalLM'], attention_bias: true, mlp_bias: true });
    const names = m.namedParameters().map(([n]) => n);
    for (const p of ['q_proj', 'k_proj', 'v_proj', 'o_proj'])
      expect(names).toContain(`model.layers.0.self_attn.${p}.bias`);
    for (const p of ['gate_proj', 'up_proj', 'down_proj']) expect(names).toContain(`model.layers.0.mlp.${p}.bias`);
    m.dispose();
  });

  it('configToJson writes every field back so the config re-parses to the same thing', () => {
    for (const [parse, raw] of [
      [parseLlamaConfig, tinyLlama],
      [parseLlamaConfig, golden('llama')],
      [parseBertConfig, golden('bert')],
      [parseGPT2Config, { vocab_size: 50 }],
    ] as const) {
      const c = parse(raw);
      const again = parse(JSON.parse(JSON.stringify(configToJson(c))) as RawConfig);
      const { raw: _a, ...x } = c;
      const { raw: _b, ...y } = again;
      expect(y).toEqual(x);
    }
    expect(configToJson(parseLlamaConfig(golden('llama'))).rope_parameters).toEqual(golden('llama').rope_parameters);
  });
});

describe('RoPE frequencies', () => {
  it('default: 1 / theta^(2i/d) in float32, as transformers computes them', () => {
    const inv = ropeInvFreq(16, 10000);
    expect(inv).toHaveLength(8);
    inv.forEach((v, i) => {
      expect(v).toBe(Math.fround(1 / Math.fround(10000 ** Math.fround((2 * i) / 16))));
    });
    const lin = ropeInvFreq(16, 10000, { rope_type: 'linear', factor: 4 });
    lin.forEach((v, i) => {
      expect(v).toBeCloseTo(inv[i] / 4, 12);
    });
  });

  it('llama3: long wavelengths divided by the factor, short ones kept, the band between interpolated', () => {
    const s = {
      rope_type: 'llama3',
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
    } as const;
    const dim = 128;
    const base = ropeInvFreq(dim, 500000);
    const scaled = ropeInvFreq(dim, 500000, s);
    let kept = 0;
    let divided = 0;
    let between = 0;
    base.forEach((f, i) => {
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < 8192 / 4) {
        expect(scaled[i]).toBe(f);
        kept++;
      } else if (wavelen > 8192 / 1) {
        expect(scaled[i]).toBeCloseTo(f / 8, 10);
        divided++;
      } else {
        const smooth = (8192 / wavelen - 1) / (4 - 1);
        expect(scaled[i] / ((1 - smooth) * (f / 8) + smooth * f)).toBeCloseTo(1, 5);
        between++;
      }
    });
    expect(kept).toBeGreaterThan(0);
    expect(divided).toBeGreaterThan(0);
    expect(between).toBeGreaterThan(0);
  });
});

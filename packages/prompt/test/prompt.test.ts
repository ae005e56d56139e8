/**
 * Prompt tuning, P-tuning and prefix tuning through PeftModel: configs filled as PEFT fills them, saved files in
 * PEFT's layout (compared with the golden adapters), save/load round trips, inference-mode loading, and decoding
 * with the KV cache for prompt, prefix and LoRA adapters. Numbers against PEFT itself are in the CLI's golden tests.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@peftjs/lora';
import { generate, LlamaForCausalLM, type PreTrainedModel } from '@peftjs/models';
import { fromPretrained } from '@peftjs/models/node';
import { getPeftModel, getPreset, PeftConfigError, type PeftModel } from '@peftjs/registry';
import { loadPeftModel, readAdapterDir, savePeftModel } from '@peftjs/registry/node';
import { noGrad, relMaxError, tensor, tidy } from '@peftjs/tensor';
import { goldenRoot } from '@peftjs/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeSafetensorsHeader } from './helpers.js';
import { PROMPT_EMBEDDINGS_KEY, type PromptModule, repeatToLength, withTokenizer } from '../src/index.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
const tmp = async () => {
  const d = await mkdtemp(join(tmpdir(), 'peftjs-prompt-'));
  dirs.push(d);
  return d;
};
const base = (arch: string) => fromPretrained<PreTrainedModel>(join(goldenRoot(), 'base', arch));
const golden = (name: string) => join(goldenRoot(), name, 'adapter');
const ids = [
  [5, 17, 99, 3, 42, 8, 61],
  [11, 4, 90, 23, 77, 6, 50],
];
const idsTensor = () => tensor(Int32Array.from(ids.flat()), [2, 7], { dtype: 'i32' });

async function logitsOf(peft: PeftModel): Promise<Float32Array> {
  const l = noGrad(() => tidy(() => peft.forward({ inputIds: idsTensor() }).logits));
  const out = (await l.data()) as Float32Array;
  l.dispose();
  return out;
}

describe('config', () => {
  it('fills token_dim, num_layers, heads and encoder_hidden_size from the model, as PEFT', async () => {
    const model = await base('llama');
    const p = getPeftModel(model, { peft_type: 'PROMPT_TUNING', num_virtual_tokens: 3 });
    expect(p.peftConfig()).toMatchObject({
      token_dim: 64,
      num_layers: 2,
      num_attention_heads: 4,
      num_transformer_submodules: 1,
    });
    p.dispose();
    // grouped-query attention: a prefix stores key/value heads (head_dim 16 × 2 kv heads)
    const prefix = getPeftModel(await base('llama'), { peft_type: 'PREFIX_TUNING', num_virtual_tokens: 3 });
    expect(prefix.peftConfig()).toMatchObject({ token_dim: 32, num_attention_heads: 2, encoder_hidden_size: 32 });
    prefix.dispose();
    const pt = getPeftModel(await base('llama'), { peft_type: 'P_TUNING', num_virtual_tokens: 3 });
    expect(pt.peftConfig()).toMatchObject({ token_dim: 64, encoder_hidden_size: 64, encoder_num_layers: 2 });
    pt.dispose();
    // GPT-2 names its sizes n_embd / n_layer / n_head
    const gpt2 = getPeftModel(await base('gpt2'), { peft_type: 'PREFIX_TUNING', num_virtual_tokens: 3 });
    expect(gpt2.peftConfig()).toMatchObject({ token_dim: 64, num_layers: 2, num_attention_heads: 4 });
    gpt2.dispose();
  });

  it('rejects bad configs with the field named', async () => {
    const model = await base('llama');
    expect(() => getPeftModel(model, { peft_type: 'PROMPT_TUNING' })).toThrow(/num_virtual_tokens.*required/);
    expect(() => getPeftModel(model, { peft_type: 'PROMPT_TUNING', num_virtual_tokens: 0 })).toThrow(PeftConfigError);
    expect(() =>
      getPeftModel(model, { peft_type: 'PROMPT_TUNING', num_virtual_tokens: 2, prompt_tuning_init: 'X' }),
    ).toThrow(/prompt_tuning_init/);
    expect(() =>
      getPeftModel(model, { peft_type: 'PROMPT_TUNING', num_virtual_tokens: 2, prompt_tuning_init: 'TEXT' }),
    ).toThrow(/prompt_tuning_init_text/);
    expect(() =>
      getPeftModel(model, {
        peft_type: 'PROMPT_TUNING',
        num_virtual_tokens: 2,
        prompt_tuning_init: 'TEXT',
        prompt_tuning_init_text: 'hi',
      }),
    ).toThrow(/needs a tokenizer.*withTokenizer/);
    expect(() =>
      getPeftModel(model, { peft_type: 'P_TUNING', num_virtual_tokens: 2, encoder_reparameterization_type: 'GRU' }),
    ).toThrow(/encoder_reparameterization_type/);
    expect(() =>
      getPeftModel(model, { peft_type: 'PREFIX_TUNING', num_virtual_tokens: 2, task_type: 'SEQ_2_SEQ_LM' }),
    ).toThrow(/SEQ_2_SEQ_LM/);
    model.dispose();
  });

  it("TEXT init: the text's token embeddings, repeated or cut to the length (PEFT); SAMPLE_VOCAB: vocabulary rows", async () => {
    expect(repeatToLength([1, 2, 3], 7)).toEqual([1, 2, 3, 1, 2, 3, 1]);
    expect(repeatToLength([1, 2, 3], 2)).toEqual([1, 2]);
    const model = await base('llama');
    const tokenizer = { encode: (s: string) => [...s].map((c) => c.charCodeAt(0) % 128) };
    const peft = getPeftModel(
      model,
      withTokenizer(
        {
          peft_type: 'PROMPT_TUNING',
          num_virtual_tokens: 5,
          prompt_tuning_init: 'TEXT',
          prompt_tuning_init_text: 'abc',
        },
        tokenizer,
      ),
    );
    const words = await model.getInputEmbeddings().weight.data();
    const prompt = await (peft.promptEncoder() as PromptModule).prompts().data();
    const expected = [97, 98, 99, 97, 98].flatMap((id) => Array.from(words.slice(id * 64, (id + 1) * 64)));
    expect(Array.from(prompt)).toEqual(expected);
    // the tokenizer is not written to adapter_config.json
    expect(JSON.stringify(peft.adapterConfigJSON())).not.toContain('encode');
    peft.addAdapter('vocab', { peft_type: 'PROMPT_TUNING', num_virtual_tokens: 4, prompt_tuning_init: 'SAMPLE_VOCAB' });
    const rows = await (peft.promptEncoder('vocab') as PromptModule).prompts().data();
    for (let r = 0; r < 4; r++) {
      const row = Array.from(rows.slice(r * 64, (r + 1) * 64));
      const found = Array.from({ length: 128 }, (_, v) => v).some((v) => row.every((x, j) => x === words[v * 64 + j]));
      expect(found).toBe(true);
    }
    peft.dispose();
  });
});

describe('files in PEFT layout', () => {
  const cases = [
    ['llama_prompt', 'llama', { peft_type: 'PROMPT_TUNING', task_type: 'CAUSAL_LM', num_virtual_tokens: 5 }],
    ['llama_prefix', 'llama', { peft_type: 'PREFIX_TUNING', task_type: 'CAUSAL_LM', num_virtual_tokens: 4 }],
    [
      'llama_ptuning_mlp',
      'llama',
      {
        peft_type: 'P_TUNING',
        task_type: 'CAUSAL_LM',
        num_virtual_tokens: 4,
        encoder_hidden_size: 32,
        encoder_reparameterization_type: 'MLP',
      },
    ],
    ['bert_prompt_cls', 'bert', { peft_type: 'PROMPT_TUNING', task_type: 'SEQ_CLS', num_virtual_tokens: 5 }],
  ] as const;

  for (const [name, arch, config] of cases) {
    it(`${name}: a saved adapter has the golden adapter's config fields and tensor names and shapes`, async () => {
      const model = await base(arch);
      const peft = getPeftModel(model, config);
      const dir = await tmp();
      await savePeftModel(peft, dir);
      const ours = await readAdapterDir(dir);
      const ref = await readAdapterDir(golden(name));
      const fields = (c: object) =>
        Object.keys(c)
          .filter((k) => k !== 'peft_version')
          .sort();
      expect(fields(ours.config as object)).toEqual(fields(ref.config as object));
      for (const k of [
        'peft_type',
        'task_type',
        'num_virtual_tokens',
        'token_dim',
        'num_layers',
        'num_attention_heads',
      ])
        expect((ours.config as Record<string, unknown>)[k], k).toEqual((ref.config as Record<string, unknown>)[k]);
      expect(decodeSafetensorsHeader(ours.weights)).toEqual(decodeSafetensorsHeader(ref.weights));
      peft.dispose();
    });
  }

  it("P-tuning: saves the MLP encoder's output; loaded for inference (embedding only) it gives the same logits", async () => {
    const model = await base('llama');
    const peft = getPeftModel(model, { peft_type: 'P_TUNING', num_virtual_tokens: 4, encoder_hidden_size: 16 });
    const trained = await logitsOf(peft);
    const dir = await tmp();
    await savePeftModel(peft, dir);
    peft.dispose();
    const loaded = await loadPeftModel(await base('llama'), dir);
    expect(
      loaded
        .promptEncoder()!
        .namedParameters()
        .map(([n]) => n),
    ).toEqual(['embedding.weight']);
    expect(loaded.countTrainable().trainable).toBe(0);
    expect(relMaxError(await logitsOf(loaded), trained)).toBeLessThan(1e-6);
    loaded.dispose();
  });

  it("projected prefix: saves the projection's output; the training-form encoder refuses saved values", async () => {
    const model = await base('llama');
    const config = {
      peft_type: 'PREFIX_TUNING',
      num_virtual_tokens: 3,
      prefix_projection: true,
      encoder_hidden_size: 8,
    };
    const peft = getPeftModel(model, config);
    const trained = await logitsOf(peft);
    const { tensors, created } = peft.savedState();
    expect(Object.keys(tensors)).toEqual([PROMPT_EMBEDDINGS_KEY]);
    expect(tensors[PROMPT_EMBEDDINGS_KEY].shape).toEqual([3, 2 * 2 * 32]);
    expect(() => peft.loadAdapterState(tensors)).toThrow(/cannot be loaded into a training-form encoder/);
    for (const t of created) t.dispose();
    const dir = await tmp();
    await savePeftModel(peft, dir);
    peft.dispose();
    const loaded = await loadPeftModel(await base('llama'), dir);
    expect(relMaxError(await logitsOf(loaded), trained)).toBeLessThan(1e-6);
    loaded.dispose();
  });

  it('a golden prompt adapter loads for inference and round-trips byte for byte in its tensors', async () => {
    const peft = await loadPeftModel(await base('bert'), golden('bert_prompt_cls'));
    expect(peft.countTrainable().trainable).toBe(0);
    const dir = await tmp();
    await savePeftModel(peft, dir);
    const again = await readAdapterDir(dir);
    const ref = await readAdapterDir(golden('bert_prompt_cls'));
    expect(Buffer.from(again.weights).equals(Buffer.from(ref.weights))).toBe(true);
    peft.dispose();
  });
});

describe('generation with adapters', () => {
  const adapters = [
    ['LoRA', 'llama_lora_qv'],
    ['prefix tuning', 'llama_prefix'],
    ['prompt tuning', 'llama_prompt'],
  ] as const;
  for (const [label, name] of adapters) {
    it(`${label}: greedy decoding with the KV cache gives the tokens of decoding without it`, async () => {
      const peft = await loadPeftModel(await base('llama'), golden(name));
      const withCache = await generate(peft, ids, { maxNewTokens: 10 });
      const without = await generate(peft, ids, { maxNewTokens: 10, useCache: false });
      expect(withCache).toEqual(without);
      // the adapter changes what is generated
      const plain = await peft.disableAdapter(() => generate(peft, ids, { maxNewTokens: 10 }));
      expect(plain).not.toEqual(withCache);
      peft.dispose();
    });
  }

  it('P-tuning (LSTM encoder, training form): cached and recomputed decoding agree; sampling is reproducible', async () => {
    const model = await base('llama');
    const peft = getPeftModel(model, {
      peft_type: 'P_TUNING',
      num_virtual_tokens: 3,
      encoder_reparameterization_type: 'LSTM',
      encoder_hidden_size: 8,
    });
    peft.eval();
    expect(await generate(peft, ids, { maxNewTokens: 6 })).toEqual(
      await generate(peft, ids, { maxNewTokens: 6, useCache: false }),
    );
    const s = { maxNewTokens: 8, temperature: 0.9, topK: 20, topP: 0.9, seed: 11 };
    expect(await generate(peft, ids, s)).toEqual(await generate(peft, ids, s));
    peft.dispose();
  });
});

describe('presets', () => {
  it('give PEFT configs with high learning rates for prompt methods', () => {
    for (const name of ['prompt-tuning', 'p-tuning', 'prefix-tuning']) {
      const p = getPreset(name);
      const c = p.config({ taskType: 'CAUSAL_LM' });
      expect(c.num_virtual_tokens).toBeGreaterThan(0);
      expect(p.learningRate!(1e6)).toBeGreaterThanOrEqual(1e-2);
      const model = new LlamaForCausalLM({
        vocab_size: 32,
        hidden_size: 16,
        intermediate_size: 24,
        num_hidden_layers: 1,
        num_attention_heads: 2,
      });
      const peft = getPeftModel(model, c);
      expect(peft.countTrainable().trainable).toBeGreaterThan(0);
      peft.dispose();
    }
  });
});

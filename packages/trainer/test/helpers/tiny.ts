import '@peftjs/lora';
import { LlamaForCausalLM } from '@peftjs/models';
import { getPeftModel, type PeftModel } from '@peftjs/registry';
import { type Backend, Generator, manualSeed } from '@peftjs/tensor';
import type { TokenExample } from '../../src/index.js';

export const TINY_LLAMA = {
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

/**
 * A tiny LLaMA (seeded weights) with a LoRA adapter on q/v/o projections. `attentionDropout` > 0 gives the model
 * a generator of its own (its state is part of a checkpoint, beside the default generator LoRA dropout uses).
 */
export function tinyLoraLlama(
  opts: { loraDropout?: number; attentionDropout?: number; backend?: Backend; seed?: number } = {},
): PeftModel<LlamaForCausalLM> {
  manualSeed(opts.seed ?? 1234);
  const model = new LlamaForCausalLM(
    { ...TINY_LLAMA, attention_dropout: opts.attentionDropout ?? 0 },
    { backend: opts.backend, generator: opts.attentionDropout ? new Generator(77) : undefined },
  );
  return getPeftModel(model, {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    r: 4,
    lora_alpha: 8,
    lora_dropout: opts.loraDropout ?? 0,
    target_modules: ['q_proj', 'v_proj', 'o_proj'],
  });
}

/** Deterministic learnable sequences: arithmetic progressions mod vocab, with varying lengths when `ragged`. */
export function tinyData(
  n: number,
  len: number,
  opts: { ragged?: boolean; vocab?: number; offset?: number } = {},
): TokenExample[] {
  const vocab = opts.vocab ?? TINY_LLAMA.vocab_size;
  const out: TokenExample[] = [];
  for (let i = 0; i < n; i++) {
    const start = (i * 7 + (opts.offset ?? 0)) % vocab;
    const stride = 1 + (i % 3);
    const l = opts.ragged ? len - (i % 4) : len;
    out.push({ inputIds: Array.from({ length: l }, (_, j) => (start + j * stride) % vocab) });
  }
  return out;
}

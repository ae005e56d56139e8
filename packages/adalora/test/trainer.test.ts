/**
 * The trainer runs the rank allocator by itself (after every optimizer step, before gradients are zeroed): a plain
 * `new Trainer({ model })` with an AdaLoRA model ends with the budget allocated and the cut triplets zero — no
 * `update_and_allocate` call in user code.
 */
import { LlamaForCausalLM } from '@peftjs/models';
import { manualSeed } from '@peftjs/tensor';
import { Trainer } from '@peftjs/trainer';
import { describe, expect, it } from 'vitest';
import { type AdaLoraLayer, getPeftModel, rankPatternOfConfig } from '../src/index.js';

const TINY_LLAMA = {
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

function data(n: number, len: number) {
  return Array.from({ length: n }, (_, i) => ({
    inputIds: Array.from({ length: len }, (_, j) => (((i * 7) % 48) + j * (1 + (i % 3))) % 48),
  }));
}

describe('AdaLoRA through the Trainer', () => {
  it('allocates the budget on schedule and freezes the final rank_pattern with no user code', async () => {
    manualSeed(7);
    const model = new LlamaForCausalLM(TINY_LLAMA);
    const steps = 10;
    const peft = getPeftModel(model, {
      peft_type: 'ADALORA',
      task_type: 'CAUSAL_LM',
      init_r: 4,
      target_r: 2,
      lora_alpha: 8,
      tinit: 2,
      tfinal: 3,
      total_step: steps,
      target_modules: ['q_proj', 'v_proj', 'down_proj'],
    });
    const config = peft.peftConfig() as unknown as { rank_pattern: Record<string, boolean[]> | null };
    const seen: (number | null)[] = [];
    await new Trainer({
      model: peft,
      train: data(16, 12),
      batchSize: 4,
      maxSteps: steps,
      lr: 1e-2,
      progress: false,
      callbacks: [
        {
          onStepEnd: () => {
            const p = config.rank_pattern;
            seen.push(p ? Object.values(p).reduce((s, m) => s + m.filter(Boolean).length, 0) : null);
          },
        },
      ],
    }).train();
    const modules = peft.adapterLayers().length;
    expect(modules).toBe(6);
    // steps 0..tinit (0-based) keep the full budget; masking starts after; from step T − tfinal on, the target
    // budget 2·6 = 12 of 24 triplets (budget at step 3: int(12·(1 − 1/5)³ + 12) = int(18.144) = 18).
    expect(seen.slice(0, 3)).toEqual([null, null, null]);
    expect(seen[3]).toBe(18);
    expect(seen.slice(7)).toEqual([12, 12, 12]);
    // the cut singular values are zero, the kept ones are not
    const pattern = rankPatternOfConfig(config)!;
    for (const [path, layer] of peft.adapterLayers()) {
      const keep = pattern[`${path}.lora_E`]!;
      const e = await (layer as AdaLoraLayer).loraE('default').data();
      keep.forEach((k, i) => {
        if (!k) expect(e[i], `${path}[${i}]`).toBe(0);
        else expect(e[i], `${path}[${i}]`).not.toBe(0);
      });
    }
    // saved as PEFT saves: tensors cut to the kept triplets, rank_pattern in adapter_config.json
    const files = await peft.toAdapterFiles();
    expect(files.config.rank_pattern).toEqual(pattern);
    const n = Number(new DataView(files.weights.buffer, files.weights.byteOffset, 8).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(files.weights.subarray(8, 8 + n)));
    for (const path of Object.keys(pattern)) {
      const kept = pattern[path]!.filter(Boolean).length;
      const prefix = `base_model.model.${path.slice(0, -'.lora_E'.length)}`;
      expect(header[`${prefix}.lora_E`].shape).toEqual([kept, 1]);
      expect(header[`${prefix}.lora_A`].shape[0]).toBe(kept);
      expect(header[`${prefix}.lora_B`].shape[1]).toBe(kept);
    }
    peft.dispose();
  });
});

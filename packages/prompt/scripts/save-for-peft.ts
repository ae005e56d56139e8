/**
 * Save peftjs prompt adapters (prompt tuning, P-tuning MLP/LSTM, prefix tuning with and without projection) on the
 * golden base LLaMA, with their logits, for `load-in-peft.py` to load in Python PEFT and compare:
 *
 *   npx tsx packages/prompt/scripts/save-for-peft.ts OUT_DIR && python packages/prompt/scripts/load-in-peft.py OUT_DIR
 *
 * Needs `../shared/golden/base/llama` beside the repository and, for the Python side, torch + peft + transformers
 * (see bench/pytorch/requirements.txt). A manual cross-check, not a test: the test suite never needs Python.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import '@peftjs/prompt';
import { fromPretrained } from '@peftjs/models/node';
import { getPeftModel } from '@peftjs/registry';
import { savePeftModel } from '@peftjs/registry/node';
import { manualSeed, tensor, tidy } from '@peftjs/tensor';
const outDir = process.argv[2] ?? 'peft-check';
mkdirSync(outDir, { recursive: true });
const base = join(import.meta.dirname, '../../../../shared/golden/base/llama');
const ids = Array.from({ length: 12 }, (_, i) => (i * 7 + 3) % 100);
const configs: Record<string, Record<string, unknown>> = {
  prompt: { peft_type: 'PROMPT_TUNING', num_virtual_tokens: 6, task_type: 'CAUSAL_LM' },
  ptuning: { peft_type: 'P_TUNING', num_virtual_tokens: 5, encoder_hidden_size: 32, task_type: 'CAUSAL_LM' },
  ptuning_lstm: {
    peft_type: 'P_TUNING',
    num_virtual_tokens: 4,
    encoder_hidden_size: 16,
    encoder_reparameterization_type: 'LSTM',
    task_type: 'CAUSAL_LM',
  },
  prefix: { peft_type: 'PREFIX_TUNING', num_virtual_tokens: 5, task_type: 'CAUSAL_LM' },
  prefix_proj: {
    peft_type: 'PREFIX_TUNING',
    num_virtual_tokens: 3,
    prefix_projection: true,
    encoder_hidden_size: 24,
    task_type: 'CAUSAL_LM',
  },
};
const out: Record<string, number[]> = {};
for (const [name, cfg] of Object.entries(configs)) {
  manualSeed(11);
  const model = await fromPretrained(base);
  const peft = getPeftModel(model, cfg);
  peft.eval();
  const t = tensor(Int32Array.from(ids), [1, ids.length], { dtype: 'i32' });
  const logits = tidy(() => peft.forward({ inputIds: t }).logits);
  out[name] = Array.from(await logits.data());
  out[`${name}_shape`] = [...logits.shape];
  await savePeftModel(peft, join(outDir, name));
  peft.dispose();
}
writeFileSync(join(outDir, 'js-logits.json'), JSON.stringify({ ids, out }));
console.log('saved', Object.keys(configs).join(', '));

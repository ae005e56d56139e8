/**
 * PEFT reference cases for prompt learning beyond the shared golden folder (made by
 * fixtures/prompt-golden/make_prompt_golden.py with the same tiny models, inputs and randomisation): GPT-2 prompt
 * and prefix tuning, the LSTM P-tuning encoder, projected prefixes, and BERT prefix tuning for classification. They
 * run through the same strict golden runner (CPU and WebGPU), on a temporary root whose base/ is the shared folder's.
 */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/index.js';
import { goldenRoot } from './helpers/paths.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/prompt-golden/', import.meta.url));
const CASES: Record<string, string[]> = {
  gpt2_prompt: ['grad.prompt_encoder.embedding.weight'],
  gpt2_prefix: ['grad.prompt_encoder.embedding.weight'],
  llama_ptuning_lstm: [
    'grad.prompt_encoder.lstm_head.weight_ih_l0',
    'grad.prompt_encoder.lstm_head.weight_hh_l1_reverse',
    'grad.prompt_encoder.lstm_head.bias_ih_l1',
    'grad.prompt_encoder.mlp_head.2.weight',
  ],
  llama_prefix_proj: ['grad.prompt_encoder.transform.0.weight', 'grad.prompt_encoder.transform.2.bias'],
  bert_prefix_cls: ['grad.prompt_encoder.embedding.weight', 'grad.base_model.classifier.weight'],
};

const root = mkdtempSync(join(tmpdir(), 'peftjs-prompt-golden-'));
symlinkSync(join(goldenRoot(), 'base'), join(root, 'base'));
for (const name of Object.keys(CASES)) symlinkSync(join(FIXTURES, name), join(root, name));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.each(['cpu', 'webgpu'])('peftjs golden (%s): prompt-learning cases beyond the shared folder', (backend) => {
  for (const [name, grads] of Object.entries(CASES)) {
    it(name, async () => {
      const lines: string[] = [];
      const code = await runCli(['golden', join(root, name), '--backend', backend], (s) => lines.push(s));
      console.log(lines.join('\n'));
      expect(lines[lines.length - 1]).toMatch(/^\d+ passed, 0 failed$/);
      for (const check of ['trainable_params', 'all_params', 'logits', 'loss', ...grads])
        expect(
          lines.some((l) => l.startsWith(`PASS ${name} ${check}: `)),
          check,
        ).toBe(true);
      expect(code).toBe(0);
    });
  }
});

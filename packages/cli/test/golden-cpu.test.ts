import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/index.js';
import { describePackageGoldenCases } from './helpers/package-cases.js';
import {
  ACCEPTANCE_CASES,
  BOTTLENECK_CASES,
  goldenRoot,
  PROMPT_CASES,
  QUANT_CASES,
  TRAJECTORY_CASES,
} from './helpers/paths.js';

const NOT_MERGEABLE: readonly string[] = BOTTLENECK_CASES;

describe('peftjs golden (CPU): our methods match Hugging Face PEFT and AdapterHub', () => {
  for (const name of [...ACCEPTANCE_CASES, ...BOTTLENECK_CASES, ...TRAJECTORY_CASES]) {
    it(name, async () => {
      const lines: string[] = [];
      const code = await runCli(['golden', join(goldenRoot(), name), '--backend', 'cpu'], (s) => lines.push(s));
      console.log(lines.join('\n'));
      const summary = lines[lines.length - 1];
      expect(summary).toMatch(/^\d+ passed, 0 failed$/);
      expect(Number(summary.split(' ')[0])).toBeGreaterThan(10);
      if ((TRAJECTORY_CASES as readonly string[]).includes(name)) {
        const meta = JSON.parse(readFileSync(join(goldenRoot(), name, 'meta.json'), 'utf8'));
        expect(lines.filter((l) => l.includes(' losses[')).length).toBe(meta.steps);
        expect(lines.some((l) => l.includes(' param.'))).toBe(true);
        if (meta.rank_pattern_after_each_step) {
          // AdaLoRA: the rank pattern after every step and the saved end/ adapter are checked too
          expect(lines.filter((l) => l.includes(' rank_pattern[')).length).toBe(meta.steps);
          expect(lines.some((l) => l.includes('end/adapter_config.json rank_pattern'))).toBe(true);
        }
      } else {
        expect(lines.some((l) => l.includes(' logits: '))).toBe(true);
        expect(lines.some((l) => l.includes(' grad.'))).toBe(true);
        // Bottleneck adapters cannot be merged: their cases hold no merged values; every other case must check them.
        expect(lines.some((l) => l.includes(' merged_logits: '))).toBe(!NOT_MERGEABLE.includes(name));
      }
      expect(code).toBe(0);
    });
  }

  for (const name of PROMPT_CASES) {
    it(name, async () => {
      const lines: string[] = [];
      const code = await runCli(['golden', join(goldenRoot(), name), '--backend', 'cpu'], (s) => lines.push(s));
      console.log(lines.join('\n'));
      expect(lines[lines.length - 1]).toMatch(/^\d+ passed, 0 failed$/);
      for (const check of ['trainable_params', 'all_params', 'logits', 'loss', 'grad.prompt_encoder.embedding.weight'])
        expect(lines.some((l) => l.startsWith(`PASS ${name} ${check}: `))).toBe(true);
      // prompt and prefix adapters cannot be merged into the weights: there is nothing to compare after merging
      expect(lines.some((l) => l.includes(' merged_logits: '))).toBe(false);
      if (name === 'llama_ptuning_mlp')
        expect(lines.filter((l) => l.includes(' grad.prompt_encoder.mlp_head.')).length).toBe(6);
      if (name === 'bert_prompt_cls')
        expect(lines.filter((l) => l.includes(' grad.base_model.classifier.')).length).toBe(2);
      expect(code).toBe(0);
    });
  }

  it('usage errors exit 2', async () => {
    const lines: string[] = [];
    expect(await runCli(['golden'], (s) => lines.push(s))).toBe(2);
    expect(await runCli(['bogus'], (s) => lines.push(s))).toBe(2);
    await expect(runCli(['golden', '/nonexistent/dir'], () => {})).rejects.toThrow(/not a directory/);
  });

  describePackageGoldenCases('cpu');

  describe('bitsandbytes quantization and QLoRA', () => {
    for (const name of QUANT_CASES) {
      it(name, async () => {
        const lines: string[] = [];
        const code = await runCli(['golden', join(goldenRoot(), name), '--backend', 'cpu'], (s) => lines.push(s));
        console.log(lines.join('\n'));
        const summary = lines[lines.length - 1];
        expect(summary).toMatch(/^\d+ passed, 0 failed$/);
        expect(Number(summary.split(' ')[0])).toBeGreaterThan(20);
        expect(code).toBe(0);
      });
    }
  });
});

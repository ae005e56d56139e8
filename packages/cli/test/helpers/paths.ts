import { existsSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goldenRoot } from '@peftjs/test-utils';

/** The golden folder (`$PEFTJS_GOLDEN`, else `../shared/golden` beside the repository) and the cases the CLI checks. */
export { goldenRoot };

/** The PEFT adapter cases the acceptance lists name. */
export const ACCEPTANCE_CASES = [
  'llama_lora_qv',
  'llama_dora',
  'bert_lora_cls',
  'gpt2_lora_conv1d',
  'llama_ia3',
  'llama_waveft',
  'llama_vblora',
  'llama_adalora_attn',
] as const;

/** Quantization (bitsandbytes) cases: every quant/* block case, and the QLoRA cases with their quantized base. */
export const QUANT_CASES = ['quant', 'llama_qlora_nf4', 'llama_lora_int8'] as const;
/** AdapterHub bottleneck cases (`adapters` 1.2): not mergeable, so they hold no merged values. */
export const BOTTLENECK_CASES = ['bert_seq_bn_cls', 'llama_seq_bn', 'gpt2_double_seq_bn'] as const;

/**
 * Prompt-learning cases (prompt tuning, prefix tuning, P-tuning): their adapters cannot be merged into the weights,
 * so they have no merged_logits; P-tuning's encoder parameters come from io.safetensors (`param.*`).
 */
export const PROMPT_CASES = ['llama_prompt', 'llama_prefix', 'llama_ptuning_mlp', 'bert_prompt_cls'] as const;

/** Trajectory cases: AdamW steps from a saved adapter (torch.optim.AdamW semantics). */
export const TRAJECTORY_CASES = ['llama_dora_adamw', 'llama_adalora_allocate'] as const;

const PACKAGES = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * Reference cases that method packages make with the reference libraries themselves (same layout as the golden
 * folder; `packages/<pkg>/test/golden-cases/<case>`, each made by a script in that package), laid out under one
 * temporary root whose `base/` is the golden folder's. Returns that root and the case names.
 */
export function packageGoldenCases(): { root: string; cases: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'peftjs-package-golden-'));
  symlinkSync(join(goldenRoot(), 'base'), join(root, 'base'));
  const cases: string[] = [];
  for (const pkg of readdirSync(PACKAGES).sort()) {
    const dir = join(PACKAGES, pkg, 'test', 'golden-cases');
    if (!existsSync(dir)) continue;
    for (const c of readdirSync(dir).sort()) {
      if (!existsSync(join(dir, c, 'meta.json'))) continue;
      symlinkSync(join(dir, c), join(root, c));
      cases.push(c);
    }
  }
  return { root, cases };
}

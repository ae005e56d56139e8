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
  'llama_adalora_attn',
] as const;

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

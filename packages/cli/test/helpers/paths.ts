import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, '../../../..');

/** `$PEFTJS_GOLDEN`, else `../shared/golden` beside the repository (where CI puts it). Missing is an error. */
export function goldenRoot(): string {
  const candidates = [process.env.PEFTJS_GOLDEN, resolve(REPO_ROOT, '../shared/golden')].filter(
    (p): p is string => typeof p === 'string' && p.length > 0,
  );
  const found = candidates.find((p) => existsSync(join(p, 'README.md')));
  if (!found) throw new Error(`golden reference folder not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** The cases this acceptance names. */
export const ACCEPTANCE_CASES = ['llama_lora_qv', 'llama_dora', 'bert_lora_cls', 'gpt2_lora_conv1d'] as const;

/** Trajectory cases: AdamW steps from a saved adapter (torch.optim.AdamW semantics). */
export const TRAJECTORY_CASES = ['llama_dora_adamw'] as const;

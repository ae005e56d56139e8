/** The golden folder (`$PEFTJS_GOLDEN`, else `../shared/golden` beside the repository) and the cases the CLI checks. */
export { goldenRoot } from '@peftjs/test-utils';

/** The cases this acceptance names. */
export const ACCEPTANCE_CASES = [
  'llama_lora_qv',
  'llama_dora',
  'bert_lora_cls',
  'gpt2_lora_conv1d',
  'llama_adalora_attn',
] as const;

/** Trajectory cases: AdamW steps from a saved adapter (torch.optim.AdamW semantics). */
export const TRAJECTORY_CASES = ['llama_dora_adamw', 'llama_adalora_allocate'] as const;

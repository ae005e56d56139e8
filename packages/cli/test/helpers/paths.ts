/** The golden folder (`$PEFTJS_GOLDEN`, else `../shared/golden` beside the repository) and the cases the CLI checks. */
export { goldenRoot } from '@peftjs/test-utils';

/** The cases this acceptance names. */
export const ACCEPTANCE_CASES = ['llama_lora_qv', 'llama_dora', 'bert_lora_cls', 'gpt2_lora_conv1d'] as const;

/**
 * Prompt-learning cases (prompt tuning, prefix tuning, P-tuning): their adapters cannot be merged into the weights,
 * so they have no merged_logits; P-tuning's encoder parameters come from io.safetensors (`param.*`).
 */
export const PROMPT_CASES = ['llama_prompt', 'llama_prefix', 'llama_ptuning_mlp', 'bert_prompt_cls'] as const;

/** Trajectory cases: AdamW steps from a saved adapter (torch.optim.AdamW semantics). */
export const TRAJECTORY_CASES = ['llama_dora_adamw'] as const;

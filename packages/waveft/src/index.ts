/**
 * `@peftjs/waveft`: WaveFT for peftjs, numerically identical to Hugging Face PEFT. Each adapted Linear / Conv1D
 * learns `n_frequency` wavelet coefficients at locations drawn exactly as PEFT draws them (torch's CPU randperm);
 * ΔW is their single-level inverse 2-D DWT (every wavelet family PEFT implements) times `scaling`. Proportional
 * budgets, patterns, merge and unmerge. Importing the package registers the method.
 *
 * ```ts
 * import { getPeftModel } from '@peftjs/registry';
 * import '@peftjs/waveft';
 * const peft = getPeftModel(model, { peft_type: 'WAVEFT', n_frequency: 2592, target_modules: ['q_proj', 'v_proj'] });
 * ```
 * @packageDocumentation
 */
import { registerWaveFT } from './method.js';

registerWaveFT();

export { normalizeWaveFTConfig, patternValue, waveftConfigToJSON } from './config.js';
export type { ResolvedWaveFTConfig, WaveFTConfig } from './config.js';
export { waveletDeltaWeight, waveletLayout } from './idwt.js';
export type { WaveletLayout } from './idwt.js';
export { WaveFTLayer, waveftLocations } from './layer.js';
export type { WaveFTPlan } from './layer.js';
export { proportionalFrequencies, registerWaveFT, waveftMethod, waveftPreset } from './method.js';
export { WAVELET_FILTERS, WAVELET_REDUCTIONS } from './wavelets.generated.js';
export { getPeftModel, PeftModel } from '@peftjs/registry';

import { isLinearLike, type Module } from '@peftjs/nn';
import { type AdapterMethod, type MethodPreset, registerAdapter, registerPreset } from '@peftjs/registry';
import { type IA3Config, ia3ConfigToJSON, normalizeIA3Config, prepareIA3Config } from './config.js';
import { IA3Layer } from './layer.js';

declare module '@peftjs/registry' {
  interface AdapterConfigMap {
    ia3: IA3Config;
  }
}

/** The IA³ method (peft_type "IA3"). Registered when `@peftjs/ia3` is imported. */
export const ia3Method: AdapterMethod<IA3Config> = {
  name: 'ia3',
  peftType: 'IA3',
  supportedModules: ['Linear', 'Conv1D', 'quantized linear layers'],
  normalizeConfig: normalizeIA3Config,
  toJSON: ia3ConfigToJSON,
  prepareConfig: prepareIA3Config,
  canAdapt: (m: Module) => isLinearLike(m),
  createLayer: (m, config, ctx) => new IA3Layer(m, config, ctx),
};

/** The "ia3" preset: PEFT's default targets for the model (attention k/v and the MLP's down projection for LLaMA). */
export const ia3Preset: MethodPreset = {
  name: 'ia3',
  method: 'ia3',
  summary: 'IA³: a learned per-channel scale of attention keys/values and feed-forward inputs (fewest parameters)',
  // IA³ has no rank or dropout; PEFT's per-model defaults pick the targets (the preset's list would also need a
  // matching feedforward list).
  config: (o) => ({
    peft_type: 'IA3',
    ...(o.taskType ? { task_type: o.taskType } : {}),
    ...(o.modulesToSave ? { modules_to_save: o.modulesToSave } : {}),
  }),
  matches: (c) => c.peft_type === 'IA3',
  // The IA³ paper trains its vectors with lr 3e-3 (T0). On the 0.76M tiny LLaMA far higher rates do better: the main
  // job's held-out perplexity after 30 steps was 6.369 / 6.310 / 6.216 / 6.132 at 3e-3 / 1e-2 / 3e-2 / 1e-1
  // (base 6.407; package README).
  learningRate: (params) => (params < 10e6 ? 1e-1 : 3e-3),
};

let registered = false;
/** Register IA³ and its preset with the registry (idempotent; done on import). */
export function registerIA3(): void {
  if (registered) return;
  registered = true;
  registerAdapter(ia3Method);
  registerPreset(ia3Preset);
}

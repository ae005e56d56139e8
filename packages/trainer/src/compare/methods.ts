import type { Module } from '@peftjs/nn';
import { getPreset, listPresets, presetLabel } from '@peftjs/registry';

/** The linear layers of a LLaMA-style decoder block: attention q/k/v/o and the MLP gate/up/down projections. */
export const LLAMA_LINEAR_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

/** A named PEFT config to train and compare. */
export interface MethodSpec {
  /** Label in tables and charts (a preset's name, or a config file's name). */
  name: string;
  /** A PEFT config object (`peft_type` required), as it would appear in adapter_config.json. */
  config: Record<string, unknown>;
  /** This method's own learning rate, instead of the shared one (some methods want far higher ones). */
  lr?: number;
}

/**
 * Method names that can be trained right now: the registry's presets, i.e. what every installed method package
 * registered (`listPresets()` in `@peftjs/registry`). Import the method packages first: they register on import.
 */
export function availableMethods(): string[] {
  return listPresets().map((p) => p.name);
}

/** Options of {@link defaultMethodConfig}. */
export interface DefaultMethodOptions {
  r?: number;
  alpha?: number;
  dropout?: number;
  /** Target modules (default: every LLaMA linear layer, q/k/v/o/gate/up/down). */
  targetModules?: string[] | string;
  taskType?: string;
  modulesToSave?: string[];
  /** Optimizer steps of the run, for presets with a training schedule (passed as `PresetOptions.totalSteps`). */
  totalSteps?: number;
}

/**
 * A starting PEFT config for the preset `name` with these hyperparameters (rank 8, alpha 2·r, dropout 0.05 on every
 * linear layer of a LLaMA block unless overridden, for methods that take them). Unknown names throw with the list
 * of available ones.
 */
export function defaultMethodConfig(name: string, opts: DefaultMethodOptions = {}): Record<string, unknown> {
  const preset = getPreset(name);
  const r = opts.r ?? 8;
  return preset.config({
    r,
    alpha: opts.alpha ?? 2 * r,
    dropout: opts.dropout ?? 0.05,
    targetModules: opts.targetModules ?? LLAMA_LINEAR_TARGETS,
    taskType: opts.taskType,
    modulesToSave: opts.modulesToSave,
    ...(opts.totalSteps !== undefined ? { totalSteps: opts.totalSteps } : {}),
  });
}

/** The learning rate a preset suggests for a model of `modelParams` parameters, or undefined. */
export function suggestedLearningRate(name: string, modelParams: number): number | undefined {
  return getPreset(name).learningRate?.(modelParams);
}

/** A readable label for a PEFT config: the preset that claims it, else its method's name. */
export function methodLabel(config: Record<string, unknown>): string {
  return presetLabel(config);
}

/** The base model as the preset named `name` wants it (e.g. quantized), or `model` itself when it changes nothing. */
export async function prepareModelFor<M extends Module>(name: string, model: M): Promise<M> {
  const preset = listPresets().find((p) => p.name === name);
  return preset?.prepareModel ? ((await preset.prepareModel(model)) as M) : model;
}

/** Each spec with the learning rate its preset suggests for `modelParams`, unless it has one (or no preset). */
export function withSuggestedLearningRates(specs: MethodSpec[], modelParams: number): MethodSpec[] {
  return specs.map((s) => {
    if (s.lr !== undefined) return s;
    const preset = listPresets().find((p) => p.name === s.name);
    const lr = preset?.learningRate?.(modelParams);
    return lr === undefined ? s : { ...s, lr };
  });
}

import type { Module } from '@peftjs/nn';
import { PeftError } from './errors.js';
import { getAdapterMethod, listAdapterMethods } from './method.js';

/** Hyperparameters a caller (the trainer's comparison, the CLI, `recommend`) may ask a preset to use. */
export interface PresetOptions {
  /** Rank, for methods that have one. */
  r?: number;
  /** Scaling numerator (LoRA's `lora_alpha`), for methods that have one. */
  alpha?: number;
  /** Adapter dropout, for methods that have one. */
  dropout?: number;
  /** Target modules (names, a regex, or `"all-linear"`), for tuner methods. */
  targetModules?: string[] | string;
  /** PEFT `task_type` (e.g. `"CAUSAL_LM"`). */
  taskType?: string;
  /** Modules trained in full next to the adapter (a classifier head). */
  modulesToSave?: string[];
  /** Hugging Face `model_type` of the base model. */
  modelType?: string;
  /** Optimizer steps the run will take, for methods with a training schedule (AdaLoRA's `total_step`). */
  totalSteps?: number;
}

/** What {@link MethodPreset.recommend} tells the trainer's `recommend()` about a preset. */
export interface PresetRecommendation {
  /**
   * When to choose it: `"default"` (the general choice), `"quality"` (when quality comes first and memory allows),
   * `"low-memory"` (when the default does not fit).
   */
  role: 'default' | 'quality' | 'low-memory';
  /** Rule-of-thumb training memory per base-model parameter, in bytes (weights, activations, adapter state). */
  bytesPerParam: number;
  /** One line on why this preset fits its role (shown in the recommendation's reasons). */
  reason: string;
}

/**
 * A named starting point for a method: how the comparison, the CLI's `--method NAME` and `recommend()` turn a few
 * hyperparameters into a full PEFT config. Methods describe themselves this way so that `@peftjs/trainer` and the
 * CLI name no method. A method package registers one or more (`@peftjs/lora` registers "lora"; `@peftjs/dora`
 * registers "dora", a LoRA config with `use_dora`).
 */
export interface MethodPreset {
  /** Label in tables, charts and on the command line (e.g. "lora"). Lowercase letters, digits, - and _. */
  name: string;
  /** The registered method whose configs it builds. */
  method: string;
  /** One line for `--help` and tables. */
  summary: string;
  /** A PEFT config object (`adapter_config.json` fields) for these options. */
  config(opts: PresetOptions): Record<string, unknown>;
  /** Whether `config` is one of this preset's (labels configs that came from files). */
  matches?(config: Record<string, unknown>): boolean;
  /** Learning rate to start from for a model of `modelParams` parameters (prompt methods want far higher ones). */
  learningRate?(modelParams: number): number;
  /** Change the base model before the adapter is added (a quantizing preset loads the base in 4 bits). */
  prepareModel?(model: Module): Module | Promise<Module>;
  /** What `recommend()` may say about it; absent: never recommended. */
  recommend?: PresetRecommendation;
}

const PRESETS_KEY = Symbol.for('@peftjs/registry/presets');
const g = globalThis as unknown as Record<symbol, Map<string, MethodPreset> | undefined>;
g[PRESETS_KEY] ??= new Map();
const presets: Map<string, MethodPreset> = g[PRESETS_KEY];

/**
 * Register a preset. Its method may be registered later (a preset is listed only while its method is registered); a
 * name registered twice is an error.
 */
export function registerPreset(preset: MethodPreset): void {
  if (!/^[a-z][a-z0-9_-]*$/.test(preset.name)) {
    throw new PeftError(`registerPreset: invalid name '${preset.name}' (lowercase letters, digits, - and _)`);
  }
  if (presets.has(preset.name)) throw new PeftError(`registerPreset: a preset named '${preset.name}' already exists`);
  if (typeof preset.config !== 'function') throw new PeftError(`registerPreset: '${preset.name}' lacks config()`);
  presets.set(preset.name, preset);
}

/** Remove a preset (tests). */
export function unregisterPreset(name: string): boolean {
  return presets.delete(name);
}

/**
 * Every preset that can be used now: the registered ones whose method is still registered, plus one plain preset
 * (the method's own defaults) for each registered method that registered none.
 */
export function listPresets(): MethodPreset[] {
  const methods = listAdapterMethods();
  const out = [...presets.values()].filter((p) => methods.includes(p.method));
  for (const name of methods) {
    if (out.some((p) => p.method === name)) continue;
    const method = getAdapterMethod(name);
    out.push({
      name,
      method: name,
      summary: `${method.peftType} with its defaults`,
      config: (o) => ({
        peft_type: method.peftType,
        ...(o.taskType ? { task_type: o.taskType } : {}),
        ...(o.targetModules && method.kind !== 'prompt' ? { target_modules: o.targetModules } : {}),
        ...(o.modulesToSave ? { modules_to_save: o.modulesToSave } : {}),
      }),
    });
  }
  return out;
}

/** The preset named `name`; the error lists what is available. */
export function getPreset(name: string): MethodPreset {
  const p = listPresets().find((x) => x.name === name);
  if (!p) {
    const names = listPresets().map((x) => x.name);
    throw new PeftError(
      `unknown method '${name}' (available: ${names.join(', ') || 'none — import a method package such as @peftjs/lora'})`,
    );
  }
  return p;
}

/** The label of a config: the first preset that claims it (`matches`), else its method's preset, else peft_type. */
export function presetLabel(config: Record<string, unknown>): string {
  const all = listPresets();
  const claimed = all.find((p) => p.matches?.(config));
  if (claimed) return claimed.name;
  const byType = all.find((p) => {
    try {
      return getAdapterMethod(p.method).peftType === config.peft_type && !p.matches;
    } catch {
      return false;
    }
  });
  return byType?.name ?? String(config.peft_type ?? 'unknown').toLowerCase();
}

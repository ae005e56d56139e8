import type { Module } from '@peftjs/nn';
import type { Tensor } from '@peftjs/tensor';
import type { PeftConfigBase } from './config.js';
import { PeftError } from './errors.js';
import type { AdapterLayer } from './layer.js';

/**
 * Config types by method name. Each method package augments it, so that `getPeftModel(model, config)` is typed
 * for every installed method, third-party ones included:
 *
 * ```ts
 * declare module '@peftjs/registry' {
 *   interface AdapterConfigMap { mymethod: MyMethodConfig }
 * }
 * ```
 */
// biome-ignore lint/suspicious/noEmptyInterface: augmented by method packages (declaration merging)
export interface AdapterConfigMap {}

/** A config of any registered method, tagged by its `peft_type`. */
export type AnyAdapterConfig = AdapterConfigMap[keyof AdapterConfigMap] extends never
  ? PeftConfigBase
  : AdapterConfigMap[keyof AdapterConfigMap];

/**
 * How a method attaches to a model (PEFT's two families): `"tuner"` methods wrap target modules with adapter
 * layers (LoRA, IA³, …); `"prompt"` methods leave the model's modules alone and change its inputs through a
 * model-level forward (prompt tuning, P-tuning, prefix tuning).
 */
export type MethodKind = 'tuner' | 'prompt';

/** What a method may know about the model it adapts (PEFT reads the same from `model.config`). */
export interface ModelInfo {
  /** Hugging Face `model_type` (e.g. `"llama"`), when the model has a config. */
  readonly modelType: string | undefined;
  /** The model's Hugging Face config (`hidden_size`, `num_hidden_layers`, …), or `{}`. */
  readonly config: Readonly<Record<string, unknown>>;
}

/** Model inputs as `@peftjs/models` models take them (`inputIds`, `attentionMask`, `labels`, `inputsEmbeds`, …). */
export interface ModelInputs {
  inputIds?: Tensor | null;
  inputsEmbeds?: Tensor | null;
  attentionMask?: Tensor | null;
  labels?: Tensor | null;
  [key: string]: unknown;
}

/** What a model's forward returns. */
export interface ModelOutput {
  logits: Tensor;
  loss: Tensor | null;
  [key: string]: unknown;
}

/**
 * State held once by the tuner root for a whole adapter, not by any one layer — VB-LoRA's vector bank. PEFT keeps
 * such tensors on the tuner (`base_model.<name>.<adapter>` in memory) and saves them under the absolute key
 * `base_model.<name>`.
 */
export interface SharedState {
  /**
   * Register `tensor` as adapter `adapterName`'s shared parameter `name`; it is saved once as `base_model.<name>`.
   * The root owns it from now on (it is freed with the adapter). Registering a name twice is an error.
   */
  register(adapterName: string, name: string, tensor: Tensor): void;
  /**
   * The live shared tensor. Layers must look it up at forward time rather than keep the tensor: loading an adapter
   * replaces it, and looking it up is what ties every layer to the loaded values.
   */
  get(adapterName: string, name: string): Tensor;
  has(adapterName: string, name: string): boolean;
  /**
   * Replace the shared tensor (e.g. after changing it in a training-step hook). The root takes `tensor`, keeps
   * `requiresGrad` and the current gradient, and frees the old one.
   */
  set(adapterName: string, name: string, tensor: Tensor): void;
}

/** What a method sees when it adapts one module. */
export interface TargetContext {
  /** Dotted path of the module in the original model (e.g. `model.layers.0.self_attn.q_proj`). */
  path: string;
  /** The adapter's name (`"default"` unless named). */
  adapterName: string;
  /** Hugging Face `model_type` of the model, when known. */
  modelType: string | undefined;
  /** The tuner root's shared state (see {@link SharedState}). */
  shared: SharedState;
  /** What {@link AdapterMethod.prepareInjection} returned for this path, if anything. */
  plan?: unknown;
}

/** One module about to be adapted, as {@link AdapterMethod.prepareInjection} sees it. */
export interface InjectionTarget {
  path: string;
  /** The module to adapt (for a module that already holds adapters, its base layer). */
  module: Module;
}

/** What {@link AdapterMethod.prepareInjection} gets besides the targets. */
export interface InjectionContext {
  adapterName: string;
  model: ModelInfo;
  shared: SharedState;
}

/** What a prompt method's encoder is created with. */
export interface PromptContext {
  adapterName: string;
  model: ModelInfo;
  /** The wrapped model (to find its word embeddings, for instance). */
  module: Module;
}

/** What a model-level forward hook sees. */
export interface ForwardContext<C extends PeftConfigBase = PeftConfigBase> {
  adapterName: string;
  config: C;
  /** The wrapped model. */
  model: Module;
  /** The adapter's prompt encoder (prompt methods), else null. */
  promptEncoder: Module | null;
  /** All adapter layers of the model holding this adapter, by path (for loss terms over layers). */
  layers: readonly (readonly [string, AdapterLayer])[];
  /** The tuner root's shared state (tuner methods), else null. */
  shared: SharedState | null;
  /** Whether the model is in training mode. */
  training: boolean;
}

/** What the training-step hook sees. */
export interface TrainStepContext<C extends PeftConfigBase = PeftConfigBase> {
  adapterName: string;
  config: C;
  /** The optimizer step just taken, counted from 0 (PEFT's `global_step` as AdaLoRA's `update_and_allocate` gets it). */
  step: number;
  /** The wrapped model. */
  model: Module;
  layers: readonly (readonly [string, AdapterLayer])[];
  /** The tuner root's shared state (tuner methods), else null. */
  shared: SharedState | null;
}

/** What the saved-state hooks see. */
export interface StateContext<C extends PeftConfigBase = PeftConfigBase> {
  adapterName: string;
  config: C;
}

/**
 * A PEFT method: how to read its config, which modules it can adapt, and how to wrap them. A method package
 * implements this and calls {@link registerAdapter}; everything else (matching target modules, freezing, saving,
 * loading, multiple adapters, merging) is shared.
 *
 * The required part is what a layer-wrapping method like LoRA needs. Every hook below it is optional and maps onto
 * one of PEFT's `BaseTuner` / `PeftModel` extension points (named in each).
 */
export interface AdapterMethod<C extends PeftConfigBase = PeftConfigBase> {
  /** Registry key, as used in {@link AdapterConfigMap} (e.g. `"lora"`). */
  readonly name: string;
  /** PEFT's `peft_type` (e.g. `"LORA"`), which `adapter_config.json` names. */
  readonly peftType: string;
  /** Module types the method can adapt, for error messages (e.g. `["Linear", "Embedding", "Conv1D"]`). */
  readonly supportedModules: readonly string[];
  /** Validate a raw config (from JSON or the user), fill defaults, and reject what PEFT would reject. */
  normalizeConfig(raw: Record<string, unknown>): C;
  /** The `adapter_config.json` object for a normalized config (every field PEFT needs to load it). */
  toJSON(config: C): Record<string, unknown>;
  /** Whether `module` is something this method can wrap (tuner methods). */
  canAdapt(module: Module): boolean;
  /** Wrap `module` with a new adapter layer holding adapter `ctx.adapterName` (tuner methods). */
  createLayer(module: Module, config: C, ctx: TargetContext): AdapterLayer;
  /** Default target modules by Hugging Face `model_type`, used when `target_modules` is null. */
  defaultTargets?(modelType: string | undefined): string[] | undefined;

  /** `"tuner"` (default) or `"prompt"`; see {@link MethodKind}. */
  readonly kind?: MethodKind;
  /**
   * Complete the normalized config from the model (PEFT's `_prepare_adapter_config` /
   * `_prepare_prompt_learning_config`): default targets per `model_type`, `token_dim` from `hidden_size`, … .
   * Runs before targeting; return the completed config (throw {@link PeftConfigError} for what cannot fit).
   */
  prepareConfig?(config: C, model: ModelInfo): C;
  /**
   * Called once per adapter with every matched target before any layer is built (PEFT's `_pre_injection_hook`):
   * the place to create shared state ({@link SharedState}) or to plan per-layer budgets that need all targets.
   * What it returns for a path reaches that layer as `ctx.plan`.
   */
  prepareInjection?(
    targets: readonly InjectionTarget[],
    config: C,
    ctx: InjectionContext,
  ): Map<string, unknown> | undefined;
  /**
   * Prompt methods: the adapter's trainable module (PEFT's `prompt_encoder.<adapter>`). Its parameters are the
   * adapter's parameters; their saved keys are `prompt_encoder.<param>` unless {@link transformStateForSave} maps
   * them (PEFT saves `prompt_embeddings`).
   */
  createPromptEncoder?(config: C, ctx: PromptContext): Module;
  /**
   * Model-level forward (PEFT's `PeftModel.forward` for prompt learning, or a loss term such as AdaLoRA's
   * orthogonal regulariser): called by {@link PeftModel.forward} for the active adapter with the inputs and `next`,
   * which runs the wrapped model. Return what the model returns (its loss may include extra terms).
   */
  forward?(inputs: ModelInputs, next: (inputs: ModelInputs) => ModelOutput, ctx: ForwardContext<C>): ModelOutput;
  /**
   * Called by the trainer after every `optimizer.step()` and before gradients are zeroed (gradients are still
   * there), for the active adapter — AdaLoRA's `update_and_allocate(global_step)`. It may be async (reading a
   * few values back from the device, as rank allocation does); the trainer awaits it before zeroing gradients.
   */
  onTrainStep?(ctx: TrainStepContext<C>): void | Promise<void>;
  /**
   * Change what is saved (PEFT's `_get_adapter_state_dict`): gets the adapter's tensors by saved key, returns the
   * tensors to write. Tensors it creates are freed by the caller after writing; returned inputs are not.
   */
  transformStateForSave?(state: Readonly<Record<string, Tensor>>, ctx: StateContext<C>): Record<string, Tensor>;
  /**
   * The inverse for loading (PEFT's `_remap_adapter_state_dict_for_load`): gets the file's tensors, returns tensors
   * by the model's saved keys. Tensors it creates are freed by the caller after loading.
   */
  transformStateForLoad?(state: Readonly<Record<string, Tensor>>, ctx: StateContext<C>): Record<string, Tensor>;
  /**
   * The safetensors dtype to store a saved tensor as (after {@link transformStateForSave}), when not its own
   * (F32 / I32): VB-LoRA stores its top-k indices as U8, I16, I32 or I64 by bank size, as PEFT does.
   */
  storedDType?(key: string, tensor: Tensor, ctx: StateContext<C>): 'U8' | 'I8' | 'I16' | 'I32' | 'I64' | undefined;
}

const REGISTRY_KEY = Symbol.for('@peftjs/registry/methods');
const g = globalThis as unknown as Record<symbol, Map<string, AdapterMethod> | undefined>;
g[REGISTRY_KEY] ??= new Map();
const methods: Map<string, AdapterMethod> = g[REGISTRY_KEY];

/** Register a method. Registering a name or peft_type twice, or an incomplete method, is an error. */
export function registerAdapter<C extends PeftConfigBase>(method: AdapterMethod<C>): void {
  const prompt = method.kind === 'prompt';
  if (method.kind !== undefined && method.kind !== 'tuner' && !prompt) {
    throw new PeftError(`registerAdapter: kind must be 'tuner' or 'prompt', got '${String(method.kind)}'`);
  }
  const required = prompt
    ? (['name', 'peftType', 'normalizeConfig', 'toJSON', 'createPromptEncoder'] as const)
    : (['name', 'peftType', 'normalizeConfig', 'toJSON', 'canAdapt', 'createLayer'] as const);
  for (const k of required) {
    if (!(k in method) || method[k] === undefined) throw new PeftError(`registerAdapter: the method lacks '${k}'`);
  }
  if (!/^[a-z][a-z0-9_-]*$/.test(method.name)) {
    throw new PeftError(`registerAdapter: invalid method name '${method.name}' (lowercase letters, digits, - and _)`);
  }
  if (methods.has(method.name))
    throw new PeftError(`registerAdapter: a method named '${method.name}' is already registered`);
  for (const m of methods.values()) {
    if (m.peftType === method.peftType) {
      throw new PeftError(`registerAdapter: peft_type '${method.peftType}' is already registered by '${m.name}'`);
    }
  }
  methods.set(method.name, method as unknown as AdapterMethod);
}

/** Remove a method (tests, hot reload). */
export function unregisterAdapter(name: string): boolean {
  return methods.delete(name);
}

/** The method registered under `name`. */
export function getAdapterMethod(name: string): AdapterMethod {
  const m = methods.get(name);
  if (!m)
    throw new PeftError(
      `no adapter method '${name}' is registered (registered: ${listAdapterMethods().join(', ') || 'none'}); import its package, e.g. '@peftjs/${name}'`,
    );
  return m;
}

/** The method whose PEFT type is `peftType` (as in adapter_config.json). */
export function getAdapterMethodByPeftType(peftType: string): AdapterMethod {
  for (const m of methods.values()) if (m.peftType === peftType) return m;
  throw new PeftError(
    `no registered method handles peft_type '${peftType}' (registered: ${[...methods.values()].map((m) => m.peftType).join(', ') || 'none'}); import the method's package`,
  );
}

export function listAdapterMethods(): string[] {
  return [...methods.keys()];
}

import { type LayerModule, Module } from '@peftjs/nn';
import type { Tensor } from '@peftjs/tensor';
import type { PeftConfigBase, TunerConfig } from './config.js';
import { PeftConfigError, PeftError } from './errors.js';
import { type AdapterFiles, decodeAdapterFiles, encodeAdapterFiles } from './files.js';
import { ElementBudget, guarded, injectTuner } from './inject.js';
import { AdapterLayer, ModulesToSaveWrapper } from './layer.js';
import type { AdapterMethod, AnyAdapterConfig, MethodKind, ModelInputs, ModelOutput } from './method.js';
import { isInsideWrapper, methodOf, modelInfo, removeAdapterName, sortKeys } from './model-util.js';
import { PromptEncoders, TunerModel } from './roots.js';
import { type AdapterSlot, applyAdapterState, collectSlots, type SavedState, savedState } from './state.js';

/** The prefix of every key PEFT writes for a tuner-based adapter (`PeftModel.base_model.model.`). */
export const KEY_PREFIX = 'base_model.model.';

/** Options of {@link getPeftModel} and {@link PeftModel.addAdapter}. */
export interface AddAdapterOptions {
  /** Default `"default"`. */
  adapterName?: string;
}

/** Options of {@link PeftModel.fromAdapterFiles} and `fromPretrained` in `@peftjs/registry/node`. */
export interface FromPretrainedOptions {
  adapterName?: string;
  /** Leave the adapter trainable (default false: inference mode, everything frozen, eval mode). */
  isTrainable?: boolean;
  /** Fail on adapter keys the file lacks (default true; unexpected keys always fail). */
  strict?: boolean;
}

interface AdapterEntry {
  method: AdapterMethod;
  config: PeftConfigBase;
  /** Fields of the source config this library does not interpret, written back unchanged. */
  extras: Record<string, unknown>;
}

/**
 * A model with adapters (PEFT's `PeftModel`). For tuner methods the wrapped model is changed in place (target
 * modules are replaced by adapter layers); prompt methods leave it alone and act through {@link forward}, which is
 * the one entry point: always call `peft.forward(inputs)`.
 */
export class PeftModel<M extends Module = Module> extends Module {
  private readonly adapters = new Map<string, AdapterEntry>();
  private active: string;
  private unloaded = false;
  private disabledDepth = 0;
  /** The method family of this model's adapters (PEFT keeps one family per model). */
  readonly kind: MethodKind;

  private constructor(model: M, adapterName: string, kind: MethodKind) {
    super();
    if (model instanceof PeftModel) throw new PeftError('the model is already a PeftModel; use addAdapter()');
    this.kind = kind;
    if (kind === 'prompt') {
      // PEFT: for prompt learning, base_model *is* the model, and the encoders sit beside it.
      this.registerModule('base_model', model);
      this.registerModule('prompt_encoder', new PromptEncoders());
    } else {
      this.registerModule('base_model', new TunerModel(model));
    }
    this.active = adapterName;
  }

  /** @internal */
  static create<M extends Module>(model: M, config: PeftConfigBase, adapterName: string): PeftModel<M> {
    const peft = new PeftModel(model, adapterName, methodOf(config).kind ?? 'tuner');
    peft.addAdapter(adapterName, config);
    peft.setAdapter(adapterName);
    return peft;
  }

  /** The wrapped (adapted) model. */
  get model(): M {
    this.assertLoaded();
    const base = this.child('base_model');
    return (base instanceof TunerModel ? base.child('model') : base) as M;
  }

  /** Prefix of the saved keys of modules inside the model: `base_model.model.` (tuners) or `base_model.` (prompts). */
  get keyPrefix(): string {
    return this.kind === 'prompt' ? 'base_model.' : KEY_PREFIX;
  }

  /** The active adapter's name. */
  get activeAdapter(): string {
    return this.active;
  }
  /** Names of the adapters, in the order they were added. */
  get adapterNames(): string[] {
    return [...this.adapters.keys()];
  }
  /** The normalized config of adapter `name` (default: active). */
  peftConfig(name = this.active): PeftConfigBase {
    return this.entry(name).config;
  }
  /** The method of adapter `name` (default: active). */
  method(name = this.active): AdapterMethod {
    return this.entry(name).method;
  }

  private entry(name: string): AdapterEntry {
    const e = this.adapters.get(name);
    if (!e) throw new PeftError(`no adapter '${name}' (adapters: ${this.adapterNames.join(', ') || 'none'})`);
    return e;
  }

  private assertLoaded(): void {
    if (this.unloaded)
      throw new PeftError('this PeftModel was unloaded (mergeAndUnload / unload); use the returned model');
  }

  private get tuner(): TunerModel | null {
    const base = this.child('base_model');
    return base instanceof TunerModel ? base : null;
  }
  private get promptEncoders(): PromptEncoders | null {
    return this.optionalChild<PromptEncoders>('prompt_encoder');
  }

  /** The prompt encoder of adapter `name` (prompt methods), else null. */
  promptEncoder(name = this.active): Module | null {
    const encoders = this.promptEncoders;
    return encoders?.has(name) ? encoders.get(name) : null;
  }

  /** Every adapter layer of the model, by path relative to the wrapped model. */
  adapterLayers(): [string, AdapterLayer][] {
    return this.modelModules().filter((e): e is [string, AdapterLayer] => e[1] instanceof AdapterLayer);
  }
  private wrappers(): [string, ModulesToSaveWrapper][] {
    return this.modelModules().filter((e): e is [string, ModulesToSaveWrapper] => e[1] instanceof ModulesToSaveWrapper);
  }
  private modelModules(): [string, Module][] {
    return this.model.namedModules().filter(([k]) => k !== '');
  }
  private layersOf(name: string): [string, AdapterLayer][] {
    return this.adapterLayers().filter(([, l]) => l.adapterNames.includes(name));
  }

  /**
   * Add adapter `name` described by `config` (a raw or typed config; `peft_type` selects the method). The new
   * adapter is not made active; call {@link setAdapter}. On any error the model is left as it was.
   */
  addAdapter(name: string, rawConfig: AnyAdapterConfig | PeftConfigBase | Record<string, unknown>): void {
    this.addAdapterWithin(name, rawConfig, new ElementBudget());
  }

  private addAdapterWithin(
    name: string,
    rawConfig: AnyAdapterConfig | PeftConfigBase | Record<string, unknown>,
    budget: ElementBudget,
  ): void {
    this.assertLoaded();
    if (typeof name !== 'string' || !/^[A-Za-z0-9_-]+$/.test(name))
      throw new PeftError(`invalid adapter name '${String(name)}' (letters, digits, - and _)`);
    if (this.adapters.has(name)) throw new PeftError(`an adapter named '${name}' already exists`);
    if (!rawConfig || typeof rawConfig !== 'object' || Array.isArray(rawConfig))
      throw new PeftConfigError('config', 'must be an object (adapter_config.json fields)');
    const raw = { ...(rawConfig as Record<string, unknown>) };
    const method = methodOf(raw);
    const first = [...this.adapters.values()][0];
    if (first && first.method !== method) {
      throw new PeftError(
        `adapter '${name}' is ${method.peftType} but this model holds ${first.method.peftType} adapters; mixing methods is not supported`,
      );
    }
    if ((method.kind ?? 'tuner') !== this.kind)
      throw new PeftError(
        `adapter '${name}' is a ${method.kind ?? 'tuner'} method; this model holds ${this.kind} methods`,
      );
    const model = this.model;
    const info = modelInfo(model);
    let config = guarded(method, 'its config', () => method.normalizeConfig(raw) as TunerConfig);
    config =
      guarded(method, 'its config', () => method.prepareConfig?.(config, info) as TunerConfig | undefined) ?? config;
    const known = new Set(Object.keys(method.toJSON(config)));
    const extras = Object.fromEntries(Object.entries(raw).filter(([k]) => !known.has(k)));
    try {
      this.wrapModulesToSave(name, config.modules_to_save ?? [], budget);
      if (this.kind === 'prompt') {
        const encoder = guarded(method, 'its prompt encoder', () =>
          method.createPromptEncoder!(config, { adapterName: name, model: info, module: model }),
        );
        this.promptEncoders!.set(name, encoder);
        budget.spend(encoder.countParameters().total, 'the prompt encoder');
      } else {
        injectTuner(model, this.tuner!, method, config, name, info, budget);
      }
    } catch (e) {
      this.removeAdapterParts(name);
      throw e;
    }
    this.adapters.set(name, { method, config, extras });
    this.updateTrainable();
  }

  /** PEFT's `_set_trainable`: wrap every module whose path ends with a `modules_to_save` name. */
  private wrapModulesToSave(name: string, names: readonly string[], budget: ElementBudget): void {
    if (!names.length) return;
    const model = this.model;
    for (const [key, module] of this.modelModules()) {
      if (module instanceof AdapterLayer || !names.some((s) => key.endsWith(s))) continue;
      if (module instanceof AdapterLayer || isInsideWrapper(model, key)) continue;
      const wrapper = module instanceof ModulesToSaveWrapper ? module : new ModulesToSaveWrapper(module);
      if (wrapper !== module) model.setSubmodule(key, wrapper);
      wrapper.addAdapter(name);
      budget.spend(wrapper.copies.get(name).countParameters().total, `modules_to_save '${key}'`);
    }
  }

  /** Remove every trace of adapter `name` (layers, shared state, encoder, modules_to_save copies). */
  private removeAdapterParts(name: string): void {
    const model = this.model;
    for (const [path, layer] of this.adapterLayers()) {
      if (!layer.adapterNames.includes(name)) continue;
      layer.deleteAdapter(name);
      if (layer.adapterNames.length === 0) {
        model.setSubmodule(path, layer.baseLayer);
      }
    }
    for (const [path, w] of this.wrappers()) {
      if (!w.copies.names().includes(name)) continue;
      w.deleteAdapter(name);
      if (w.copies.names().length === 0) model.setSubmodule(path, w.original);
    }
    this.tuner?.deleteAdapter(name);
    this.promptEncoders?.delete(name)?.dispose();
  }

  /** Make adapter `name` the active one (the only one applied and trained). */
  setAdapter(name: string): void {
    this.assertLoaded();
    this.entry(name);
    this.active = name;
    for (const [, layer] of this.adapterLayers()) {
      layer.activeAdapters = layer.adapterNames.includes(name) ? [name] : [];
    }
    for (const [, w] of this.wrappers()) w.activeAdapter = w.copies.names().includes(name) ? name : null;
    this.updateTrainable();
  }

  /** Remove adapter `name` and free its parameters. When it was active, the first remaining one becomes active. */
  deleteAdapter(name: string): void {
    this.assertLoaded();
    this.entry(name);
    for (const [, layer] of this.adapterLayers()) if (layer.adapterNames.includes(name)) layer.deleteAdapter(name);
    for (const [, w] of this.wrappers()) if (w.copies.names().includes(name)) w.deleteAdapter(name);
    this.tuner?.deleteAdapter(name);
    this.promptEncoders?.delete(name)?.dispose();
    this.adapters.delete(name);
    if (this.active === name) {
      const next = this.adapterNames[0];
      if (next) this.setAdapter(next);
    }
  }

  /** Run `fn` with every adapter switched off (the base model alone); works with async functions too. */
  disableAdapter<T>(fn: () => T): T {
    this.assertLoaded();
    const layers = [...this.adapterLayers().map(([, l]) => l), ...this.wrappers().map(([, w]) => w)];
    const prev = layers.map((l) => l.disabled);
    for (const l of layers) l.disabled = true;
    this.disabledDepth++;
    const restore = () => {
      for (const [i, l] of layers.entries()) l.disabled = prev[i];
      this.disabledDepth--;
    };
    let out: T;
    try {
      out = fn();
    } catch (e) {
      restore();
      throw e;
    }
    if (out instanceof Promise) return out.finally(restore) as T;
    restore();
    return out;
  }

  /**
   * Run the model with the active adapter: the one entry point for training, evaluation and inference. Tuner
   * adapters act inside the model's layers; a method's model-level `forward` hook (prompt methods, extra loss
   * terms) wraps the call. Inputs are not consumed.
   */
  forward(inputs: ModelInputs): ModelOutput {
    this.assertLoaded();
    const model = this.model as unknown as { forward?: (i: ModelInputs) => ModelOutput };
    if (typeof model.forward !== 'function') throw new PeftError('the wrapped model has no forward(inputs)');
    const next = (i: ModelInputs) => model.forward!(i);
    const e = this.adapters.get(this.active);
    if (!e?.method.forward || this.disabledDepth > 0) return next(inputs);
    return e.method.forward(inputs, next, {
      adapterName: this.active,
      config: e.config,
      model: this.model,
      promptEncoder: this.promptEncoder(this.active),
      layers: this.layersOf(this.active),
      shared: this.tuner,
      training: this.training,
    });
  }

  /**
   * Tell the active adapter's method that an optimizer step was taken (the trainer calls this after
   * `optimizer.step()` and before zeroing gradients; `step` counts from 0). No-op for methods without the hook.
   * Await it: a method may read values back from the device here.
   */
  async onTrainStep(step: number): Promise<void> {
    this.assertLoaded();
    const e = this.adapters.get(this.active);
    if (!e?.method.onTrainStep) return;
    await e.method.onTrainStep({
      adapterName: this.active,
      config: e.config,
      step,
      model: this.model,
      layers: this.layersOf(this.active),
      shared: this.tuner,
    });
  }

  /**
   * Freeze everything, then make the active adapter's parameters (and its modules_to_save copies, and biases per
   * `bias`) trainable — PEFT's `_mark_only_adapters_as_trainable` + `set_adapter`.
   */
  private updateTrainable(inference = false): void {
    this.requiresGrad_(false);
    if (inference) return;
    if (!this.adapters.has(this.active)) return;
    for (const slot of this.adapterSlots(this.active).values()) slot.owner.param(slot.param).requiresGrad = true;
  }

  /** Put the model in inference mode: every parameter frozen (used when loading without isTrainable). */
  freezeAll(): void {
    this.updateTrainable(true);
  }

  /**
   * Every saved tensor of adapter `name` as the model holds it, by its key in adapter_model.safetensors before any
   * save transform (PEFT's names: no adapter name; `base_model.model.` prefix for modules of tuner models).
   */
  adapterSlots(name = this.active): Map<string, AdapterSlot> {
    const entry = this.entry(name);
    return collectSlots({
      adapterName: name,
      config: entry.config,
      prefix: this.keyPrefix,
      model: this.model,
      layers: this.layersOf(name),
      wrappers: this.wrappers(),
      shared: this.tuner?.sharedOf(name) ?? [],
      promptEncoder: this.promptEncoder(name),
    });
  }

  /** The live tensors of adapter `name` by slot key (what training updates; not transformed for saving). */
  adapterStateDict(name = this.active): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [k, s] of this.adapterSlots(name)) out[k] = s.owner.param(s.param);
    return out;
  }

  /**
   * Every trainable parameter by the name PEFT's reference tools use for it: its saved key when it is saved as it
   * is, else its parameter name with the adapter name removed (PEFT's `_remove_adapter_name_from_state_dict_key`),
   * e.g. `prompt_encoder.mlp_head.0.weight`.
   */
  trainableParameterKeys(name = this.active): Map<string, Tensor> {
    const bySlot = new Map<Tensor, string>();
    for (const [k, s] of this.adapterSlots(name)) bySlot.set(s.owner.param(s.param), k);
    const out = new Map<string, Tensor>();
    for (const [pname, t] of this.namedParameters()) {
      if (!t.requiresGrad) continue;
      out.set(bySlot.get(t) ?? removeAdapterName(pname, name), t);
    }
    return out;
  }

  /** The tensors written for adapter `name`, after the method's save transform (`created` are the caller's to free). */
  savedState(name = this.active): SavedState {
    const e = this.entry(name);
    return savedState(this.adapterStateDict(name), e.method, { adapterName: name, config: e.config });
  }

  /**
   * Load saved adapter tensors (keys as in adapter_model.safetensors) into adapter `name`, through the method's load
   * transform. Unexpected keys, shape and dtype mismatches are errors; missing keys are errors unless `strict` is
   * false. Nothing is changed on error.
   */
  loadAdapterState(
    tensors: Record<string, Tensor>,
    name = this.active,
    opts: { strict?: boolean } = {},
  ): { missingKeys: string[] } {
    const e = this.entry(name);
    return applyAdapterState(tensors, this.adapterSlots(name), e.method, {
      adapterName: name,
      config: e.config,
      strict: opts.strict ?? true,
    });
  }

  /** `adapter_config.json` of adapter `name`. */
  adapterConfigJSON(name = this.active): Record<string, unknown> {
    const e = this.entry(name);
    const json = { ...e.extras, ...e.method.toJSON(e.config), peft_type: e.method.peftType, inference_mode: true };
    return sortKeys(json);
  }

  /** The files PEFT's save_pretrained writes for adapter `name`, as bytes (any storage: files, IndexedDB, a download). */
  async toAdapterFiles(name = this.active): Promise<AdapterFiles> {
    const { tensors, created } = this.savedState(name);
    const e = this.entry(name);
    const stored = e.method.storedDType;
    const dtype = stored
      ? (key: string, t: Tensor) => stored(key, t, { adapterName: name, config: e.config })
      : undefined;
    try {
      return await encodeAdapterFiles(this.adapterConfigJSON(name), tensors, dtype);
    } finally {
      for (const t of created) t.dispose();
    }
  }

  /** Add an adapter from PEFT's files (config object + safetensors bytes). On error nothing is added. */
  async loadAdapterFiles(files: AdapterFiles, opts: FromPretrainedOptions = {}): Promise<void> {
    const name = opts.adapterName ?? 'default';
    const backend = this.model.parameters()[0]?.backend;
    const { config, tensors } = await decodeAdapterFiles(files, backend);
    try {
      // The file says how large the adapter is: a config that would build far more is refused early.
      const fileElements = Object.values(tensors).reduce((n, t) => n + t.size, 0);
      const strict = opts.strict ?? true;
      this.addAdapterWithin(
        name,
        config,
        new ElementBudget(strict ? 2 * fileElements + 4096 : Number.POSITIVE_INFINITY),
      );
      try {
        this.loadAdapterState(tensors, name, { strict: opts.strict });
      } catch (e) {
        // undo the whole adapter, wrappers included: the model is left as it was
        this.removeAdapterParts(name);
        this.adapters.delete(name);
        throw e;
      }
    } finally {
      for (const t of Object.values(tensors)) t.dispose();
    }
    if (!opts.isTrainable) {
      this.updateTrainable(true);
      // As PEFT: a model loaded for inference is in eval mode, so adapter dropout is off.
      this.eval();
    } else {
      this.updateTrainable();
    }
  }

  /** Wrap `model` with the adapter in `files` (PEFT's `PeftModel.from_pretrained`, from bytes). */
  static async fromAdapterFiles<M extends Module>(
    model: M,
    files: AdapterFiles,
    opts: FromPretrainedOptions = {},
  ): Promise<PeftModel<M>> {
    const name = opts.adapterName ?? 'default';
    const peftType = (files.config as { peft_type?: unknown } | null)?.peft_type;
    const peft = new PeftModel(model, name, methodOf({ peft_type: peftType }).kind ?? 'tuner');
    await peft.loadAdapterFiles(files, { ...opts, adapterName: name });
    peft.active = name;
    peft.setAdapter(name);
    if (!opts.isTrainable) peft.updateTrainable(true);
    return peft;
  }

  /** Trainable / total parameter counts (as PEFT counts them: every parameter, prompt encoders included). */
  countTrainable(): { trainable: number; total: number } {
    const { trainable, total } = this.countParameters();
    return { trainable, total };
  }

  /** PEFT's `print_trainable_parameters()` line (also returned). */
  printTrainableParameters(log: (s: string) => void = console.log): string {
    const { trainable, total } = this.countTrainable();
    const line = `trainable params: ${trainable.toLocaleString('en-US')} || all params: ${total.toLocaleString('en-US')} || trainable%: ${((100 * trainable) / total).toFixed(4)}`;
    log(line);
    return line;
  }

  /** Merge the active adapter (or `adapterNames`) into the base weights; forward then skips it. */
  merge(adapterNames: string[] = [this.active]): void {
    this.assertLoaded();
    if (this.kind === 'prompt')
      throw new PeftError(`${this.method().peftType} adapters cannot be merged into the model`);
    for (const [, layer] of this.adapterLayers()) {
      const names = adapterNames.filter((n) => layer.adapterNames.includes(n) && !layer.mergedAdapters.includes(n));
      if (names.length) layer.merge(names);
    }
  }

  /** Undo {@link merge}. */
  unmerge(): void {
    this.assertLoaded();
    for (const [, layer] of this.adapterLayers()) if (layer.merged) layer.unmerge();
  }

  /**
   * Merge the active adapter into the base weights and return the plain model: adapter layers are replaced by
   * their (merged) base layers, modules_to_save wrappers by the trained copy. This PeftModel is unusable after.
   */
  mergeAndUnload(): M {
    this.merge();
    return this.unload();
  }

  /** Remove every adapter without merging and return the plain model. */
  unload(): M {
    const model = this.model;
    for (const [path, layer] of this.adapterLayers()) {
      const base = layer.baseLayer;
      model.setSubmodule(path, base);
      for (const n of [...layer.adapterNames]) layer.deleteAdapter(n);
    }
    for (const [path, w] of this.wrappers()) {
      const keepName = w.activeAdapter;
      const chosen: LayerModule = keepName ? (w.copies.remove(keepName) as LayerModule) : w.original;
      model.setSubmodule(path, chosen);
      if (keepName) w.original.dispose();
      w.copies.dispose();
    }
    for (const name of this.adapterNames) this.tuner?.deleteAdapter(name);
    this.promptEncoders?.dispose();
    this.unloaded = true;
    return model;
  }
}

/** Wrap `model` with a new adapter (PEFT's `get_peft_model`). The base is frozen; only the adapter trains. */
export function getPeftModel<M extends Module>(
  model: M,
  config: AnyAdapterConfig | Record<string, unknown>,
  opts: AddAdapterOptions = {},
): PeftModel<M> {
  return PeftModel.create(model, config as PeftConfigBase, opts.adapterName ?? 'default');
}

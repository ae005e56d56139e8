import { type LayerModule, Module } from '@peftjs/nn';
import { loadTensors, saveTensors } from '@peftjs/safetensors';
import { type Tensor, noGrad } from '@peftjs/tensor';
import type { PeftConfigBase, TunerConfig } from './config.js';
import { PeftConfigError, PeftError } from './errors.js';
import { AdapterLayer, type AdapterSlot, ModulesToSaveWrapper } from './layer.js';
import { type AdapterMethod, type AnyAdapterConfig, getAdapterMethodByPeftType } from './method.js';
import { candidateModules, describeTargetable, matchesTarget } from './targets.js';

/** The prefix of every key PEFT writes for a tuner-based adapter (`PeftModel.base_model.model.`). */
export const KEY_PREFIX = 'base_model.model.';

/** Options of {@link getPeftModel} and {@link PeftModel.addAdapter}. */
export interface AddAdapterOptions {
  /** Default `"default"`. */
  adapterName?: string;
}

/** The files of one saved adapter: `adapter_config.json` (as an object) and `adapter_model.safetensors` (bytes). */
export interface AdapterFiles {
  config: Record<string, unknown>;
  weights: Uint8Array;
}

/** Options of {@link PeftModel.fromPretrained}. */
export interface FromPretrainedOptions {
  adapterName?: string;
  /** Leave the adapter trainable (default false: inference mode, everything frozen). */
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

/** A model's output heads: never targeted by `"all-linear"` (PEFT excludes the output embedding / classifier). */
function outputHeads(model: Module, config: PeftConfigBase): string[] {
  const named = (model as unknown as { outputHeadNames?: () => string[] }).outputHeadNames?.();
  if (named) return named;
  return config.task_type === 'SEQ_CLS' ? ['lm_head', 'classifier', 'score'] : ['lm_head'];
}

function modelType(model: Module): string | undefined {
  return (model as unknown as { config?: { model_type?: string } }).config?.model_type;
}

/** Holds the wrapped model as `model`, so parameter names match PEFT's (`base_model.model.…`). */
class TunerModel extends Module {
  constructor(model: Module) {
    super();
    this.registerModule('model', model);
  }
}

/**
 * A model with adapters injected (PEFT's `PeftModel`). The wrapped model is changed in place: target modules are
 * replaced by adapter layers, so calling `peft.model.forward(...)` (or the original model object) runs with the
 * active adapter.
 */
export class PeftModel<M extends Module = Module> extends Module {
  private readonly adapters = new Map<string, AdapterEntry>();
  private active: string;
  private unloaded = false;

  private constructor(model: M, adapterName: string) {
    super();
    this.registerModule('base_model', new TunerModel(model));
    this.active = adapterName;
  }

  /** The wrapped (adapted) model. */
  get model(): M {
    this.assertLoaded();
    return this.child('base_model').child<M>('model');
  }

  /** @internal */
  static create<M extends Module>(model: M, config: PeftConfigBase, adapterName: string): PeftModel<M> {
    if (model instanceof PeftModel)
      throw new PeftError('getPeftModel: the model is already a PeftModel; use addAdapter()');
    const peft = new PeftModel(model, adapterName);
    peft.addAdapter(adapterName, config);
    peft.setAdapter(adapterName);
    return peft;
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

  private entry(name: string): AdapterEntry {
    const e = this.adapters.get(name);
    if (!e) throw new PeftError(`no adapter '${name}' (adapters: ${this.adapterNames.join(', ') || 'none'})`);
    return e;
  }

  private assertLoaded(): void {
    if (this.unloaded)
      throw new PeftError('this PeftModel was unloaded (mergeAndUnload / unload); use the returned model');
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

  /**
   * Inject adapter `name` described by `config` (a raw or typed config; `peft_type` selects the method).
   * The new adapter is not made active; call {@link setAdapter}.
   */
  addAdapter(name: string, rawConfig: AnyAdapterConfig | PeftConfigBase | Record<string, unknown>): void {
    this.assertLoaded();
    if (!/^[A-Za-z0-9_-]+$/.test(name))
      throw new PeftError(`invalid adapter name '${name}' (letters, digits, - and _)`);
    if (this.adapters.has(name)) throw new PeftError(`an adapter named '${name}' already exists`);
    const raw = { ...(rawConfig as Record<string, unknown>) };
    if (typeof raw.peft_type !== 'string') throw new PeftConfigError('peft_type', 'is required (e.g. "LORA")');
    const method = getAdapterMethodByPeftType(raw.peft_type);
    const config = method.normalizeConfig(raw) as TunerConfig;
    if (this.adapters.size > 0) {
      const first = [...this.adapters.values()][0];
      if (first.method !== method) {
        throw new PeftError(
          `adapter '${name}' is ${method.peftType} but this model holds ${first.method.peftType} adapters; mixing methods is not supported`,
        );
      }
    }
    const model = this.model;
    if (config.target_modules === null || config.target_modules === undefined) {
      const defaults = method.defaultTargets?.(modelType(model));
      if (!defaults) {
        throw new PeftConfigError(
          'target_modules',
          `is required for this model (no default for model_type '${modelType(model) ?? 'unknown'}'); targetable modules: ${describeTargetable(model, (m) => method.canAdapt(m))}`,
        );
      }
      config.target_modules = defaults;
    }
    const heads = outputHeads(model, config);
    const known = new Set(Object.keys(method.toJSON(config)));
    const extras = Object.fromEntries(Object.entries(raw).filter(([k]) => !known.has(k)));
    let matched = 0;
    const saveNames = config.modules_to_save ?? [];
    for (const [key, module] of candidateModules(model)) {
      if (saveNames.some((s) => key.endsWith(s)) && !(module instanceof AdapterLayer)) {
        const wrapper = module instanceof ModulesToSaveWrapper ? module : new ModulesToSaveWrapper(module);
        if (wrapper !== module) model.setSubmodule(key, wrapper);
        wrapper.addAdapter(name);
        continue;
      }
      const target = module instanceof AdapterLayer ? module.baseLayer : module;
      if (!matchesTarget(config, key, target, heads)) continue;
      matched++;
      const ctx = { path: key, adapterName: name };
      if (module instanceof AdapterLayer) {
        module.addAdapter(name, config, ctx);
      } else if (method.canAdapt(module)) {
        model.setSubmodule(key, method.createLayer(module, config, ctx));
      } else if (typeof config.target_modules !== 'string') {
        throw new PeftConfigError(
          'target_modules',
          `module '${key}' is a ${module.typeName}, which ${method.name} cannot adapt (it adapts ${method.supportedModules.join(', ')})`,
        );
      } else {
        matched--;
      }
    }
    if (matched === 0) {
      throw new PeftConfigError(
        'target_modules',
        `${JSON.stringify(config.target_modules)} matched no module of the model${config.layers_to_transform != null ? ` (with layers_to_transform ${JSON.stringify(config.layers_to_transform)})` : ''}; targetable modules: ${describeTargetable(model, (m) => method.canAdapt(m))}`,
      );
    }
    this.adapters.set(name, { method, config, extras });
    this.updateTrainable();
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

  /** Remove adapter `name` and free its parameters. The active adapter cannot be deleted while others exist… unless it is switched. */
  deleteAdapter(name: string): void {
    this.assertLoaded();
    this.entry(name);
    for (const [, layer] of this.adapterLayers()) if (layer.adapterNames.includes(name)) layer.deleteAdapter(name);
    for (const [, w] of this.wrappers()) if (w.copies.names().includes(name)) w.deleteAdapter(name);
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
    const restore = () => {
      for (const [i, l] of layers.entries()) l.disabled = prev[i];
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
   * Freeze everything, then make the active adapter's parameters (and its modules_to_save copies, and biases per
   * `bias`) trainable — PEFT's `_mark_only_adapters_as_trainable` + `set_adapter`.
   */
  private updateTrainable(inference = false): void {
    const model = this.model;
    model.requiresGrad_(false);
    if (inference) return;
    const active = this.adapters.get(this.active);
    if (!active) return;
    for (const slot of this.adapterSlots(this.active).values()) slot.owner.param(slot.param).requiresGrad = true;
    const bias = (active.config as { bias?: string }).bias;
    if (bias === 'all') {
      for (const [, m] of model.namedModules())
        if (m.hasParameter('bias') && m.optionalParam('bias')) m.param('bias').requiresGrad = true;
    } else if (bias && bias !== 'none') {
      for (const [, layer] of this.adapterLayers()) {
        const b = layer.baseLayer.hasParameter('bias') ? layer.baseLayer.optionalParam('bias') : null;
        if (b) b.requiresGrad = true;
      }
    }
  }

  /** Put the model in inference mode: every parameter frozen (used by fromPretrained without isTrainable). */
  freezeAll(): void {
    this.updateTrainable(true);
  }

  /**
   * Every saved tensor of adapter `name`, by its key in adapter_model.safetensors (PEFT's names: no adapter name,
   * `base_model.model.` prefix, modules_to_save without wrapper names).
   */
  adapterSlots(name = this.active): Map<string, AdapterSlot> {
    const entry = this.entry(name);
    const slots = new Map<string, AdapterSlot>();
    for (const [path, layer] of this.adapterLayers()) {
      if (!layer.adapterNames.includes(name)) continue;
      for (const s of layer.adapterSlots(name)) slots.set(`${KEY_PREFIX}${path}.${s.key}`, s);
    }
    for (const [path, w] of this.wrappers()) {
      if (!w.copies.names().includes(name)) continue;
      const copy = w.copies.get(name);
      for (const [pname] of copy.namedParameters()) {
        const dot = pname.lastIndexOf('.');
        const owner = dot < 0 ? copy : copy.getSubmodule(pname.slice(0, dot));
        slots.set(`${KEY_PREFIX}${path}.${pname}`, { key: pname, owner, param: pname.slice(dot + 1) });
      }
    }
    const bias = (entry.config as { bias?: string }).bias;
    if (bias === 'all' || (bias && bias !== 'none')) {
      const only = bias !== 'all' ? new Set(this.adapterLayers().map(([p]) => `${p}.base_layer`)) : null;
      for (const [path, m] of this.model.namedModules()) {
        if (!m.hasParameter('bias') || !m.optionalParam('bias')) continue;
        if (only && !only.has(path)) continue;
        slots.set(`${KEY_PREFIX}${path}.bias`, { key: 'bias', owner: m, param: 'bias' });
      }
    }
    return slots;
  }

  /** The live tensors of adapter `name` by saved key (what {@link savePretrained} writes). */
  adapterStateDict(name = this.active): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [k, s] of this.adapterSlots(name)) out[k] = s.owner.param(s.param);
    return out;
  }

  /**
   * Load saved adapter tensors (keys as in adapter_model.safetensors) into adapter `name`. Unexpected keys and
   * shape mismatches are errors; missing keys are errors unless `strict` is false. Nothing is changed on error.
   */
  loadAdapterState(
    tensors: Record<string, Tensor>,
    name = this.active,
    opts: { strict?: boolean } = {},
  ): { missingKeys: string[] } {
    const slots = this.adapterSlots(name);
    const unexpected = Object.keys(tensors).filter((k) => !slots.has(k));
    if (unexpected.length) {
      throw new PeftError(
        `adapter weights have keys that match nothing in the model: ${unexpected.slice(0, 8).join(', ')}${unexpected.length > 8 ? ` … (${unexpected.length})` : ''}; expected keys like ${[...slots.keys()].slice(0, 3).join(', ')}`,
      );
    }
    const missing = [...slots.keys()].filter((k) => !(k in tensors));
    if (missing.length && (opts.strict ?? true)) {
      throw new PeftError(
        `adapter weights lack keys: ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ` … (${missing.length})` : ''}`,
      );
    }
    for (const [k, t] of Object.entries(tensors)) {
      const s = slots.get(k)!;
      const cur = s.owner.param(s.param);
      if (cur.shape.length !== t.shape.length || cur.shape.some((d, i) => d !== t.shape[i])) {
        throw new PeftError(
          `adapter weight '${k}' has shape [${t.shape.join(', ')}], the model expects [${cur.shape.join(', ')}]`,
        );
      }
    }
    for (const [k, t] of Object.entries(tensors)) {
      const s = slots.get(k)!;
      const old = s.owner.param(s.param);
      const next = noGrad(() => (t.dtype === old.dtype ? t.detach() : t.cast(old.dtype)));
      next.requiresGrad = old.requiresGrad;
      s.owner.setParameter(s.param, next);
      old.dispose();
    }
    return { missingKeys: missing };
  }

  /** `adapter_config.json` of adapter `name`. */
  adapterConfigJSON(name = this.active): Record<string, unknown> {
    const e = this.entry(name);
    const json = { ...e.extras, ...e.method.toJSON(e.config), peft_type: e.method.peftType, inference_mode: true };
    return sortKeys(json);
  }

  /** The files PEFT's save_pretrained would write for adapter `name` (for browsers, or custom storage). */
  async toAdapterFiles(name = this.active): Promise<AdapterFiles> {
    const weights = await saveTensors(this.adapterStateDict(name), { format: 'pt' });
    return { config: this.adapterConfigJSON(name), weights };
  }

  /**
   * Write the adapters in PEFT's layout: `dir/adapter_config.json` and `dir/adapter_model.safetensors` for the
   * adapter named "default", `dir/<name>/…` for the others. Files are written atomically (temp + rename).
   */
  async savePretrained(dir: string, opts: { adapterNames?: string[] } = {}): Promise<void> {
    const { mkdir, rename, writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    for (const name of opts.adapterNames ?? this.adapterNames) {
      const target = name === 'default' ? dir : join(dir, name);
      await mkdir(target, { recursive: true });
      const files = await this.toAdapterFiles(name);
      const write = async (file: string, data: string | Uint8Array) => {
        const tmp = join(target, `.${file}.${process.pid}.tmp`);
        await writeFile(tmp, data);
        await rename(tmp, join(target, file));
      };
      await write('adapter_model.safetensors', files.weights);
      await write('adapter_config.json', `${JSON.stringify(files.config, null, 2)}\n`);
    }
  }

  /** Add an adapter from PEFT's files (config object + safetensors bytes). */
  async loadAdapterFiles(files: AdapterFiles, opts: FromPretrainedOptions = {}): Promise<void> {
    const name = opts.adapterName ?? 'default';
    const backend = this.model.parameters()[0]?.backend;
    this.addAdapter(name, files.config);
    try {
      const tensors = await loadTensors(files.weights, { dtype: 'f32', backend });
      try {
        this.loadAdapterState(tensors, name, { strict: opts.strict });
      } finally {
        for (const t of Object.values(tensors)) t.dispose();
      }
    } catch (e) {
      this.deleteAdapter(name);
      throw e;
    }
  }

  /** Load the adapter saved in `dir` (PEFT layout) onto `model`. */
  static async fromPretrained<M extends Module>(
    model: M,
    dir: string,
    opts: FromPretrainedOptions = {},
  ): Promise<PeftModel<M>> {
    const files = await readAdapterDir(dir);
    const name = opts.adapterName ?? 'default';
    const peft = new PeftModel(model, name);
    await peft.loadAdapterFiles(files, { ...opts, adapterName: name });
    peft.setAdapter(name);
    if (!opts.isTrainable) {
      peft.freezeAll();
      // As PEFT: a model loaded for inference is in eval mode, so adapter dropout is off.
      peft.eval();
    }
    return peft;
  }

  /** Load another saved adapter into this model under `name`. */
  async loadAdapter(dir: string, name: string, opts: Omit<FromPretrainedOptions, 'adapterName'> = {}): Promise<void> {
    await this.loadAdapterFiles(await readAdapterDir(dir), { ...opts, adapterName: name });
    this.updateTrainable(!opts.isTrainable);
    if (!opts.isTrainable) this.eval();
  }

  /** Trainable / total parameter counts (as PEFT counts them: every parameter of the wrapped model). */
  countTrainable(): { trainable: number; total: number } {
    const { trainable, total } = this.model.countParameters();
    return { trainable, total };
  }

  /** PEFT's `print_trainable_parameters()` line (also returned). */
  printTrainableParameters(log: (s: string) => void = console.log): string {
    const { trainable, total } = this.countTrainable();
    const line = `trainable params: ${trainable.toLocaleString('en-US')} || all params: ${total.toLocaleString('en-US')} || trainable%: ${((100 * trainable) / total).toFixed(4)}`;
    log(line);
    return line;
  }

  /** Merge the active adapter into the base weights (forward then skips it). */
  merge(adapterNames: string[] = [this.active]): void {
    this.assertLoaded();
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

  /** Remove every adapter layer without merging and return the plain model. */
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

async function readAdapterDir(dir: string): Promise<AdapterFiles> {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  let configText: string;
  try {
    configText = await readFile(join(dir, 'adapter_config.json'), 'utf8');
  } catch {
    throw new PeftError(`no adapter_config.json in '${dir}'`);
  }
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(configText);
  } catch (e) {
    throw new PeftError(`${join(dir, 'adapter_config.json')} is not valid JSON: ${(e as Error).message}`);
  }
  let weights: Uint8Array;
  try {
    weights = await readFile(join(dir, 'adapter_model.safetensors'));
  } catch {
    const { readdir } = await import('node:fs/promises');
    const files = await readdir(dir).catch(() => [] as string[]);
    if (files.includes('adapter_model.bin')) {
      throw new PeftError(
        `'${dir}' holds adapter_model.bin (a pickle file), which is never loaded: re-save it with safe_serialization=True`,
      );
    }
    throw new PeftError(`no adapter_model.safetensors in '${dir}'`);
  }
  return { config, weights };
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]),
  );
}

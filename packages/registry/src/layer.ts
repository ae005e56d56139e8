import { type LayerModule, Module, type TensorLayer } from '@peftjs/nn';
import type { Tensor } from '@peftjs/tensor';
import type { PeftConfigBase } from './config.js';
import { PeftError } from './errors.js';
import type { TargetContext } from './method.js';

/** Where one saved tensor of an adapter lives: `owner.param(param)`. */
export interface AdapterSlot {
  /** Key in adapter_model.safetensors relative to the wrapped module's path (e.g. `lora_A.weight`). */
  key: string;
  owner: Module;
  param: string;
}

/**
 * The base of every method's layer: wraps the original module as `base_layer` (so base parameter names gain
 * `.base_layer.`, as in PEFT) and holds any number of named adapters, of which some are active.
 */
export abstract class AdapterLayer extends Module implements TensorLayer {
  /** Adapter names in the order they were added. */
  readonly adapterNames: string[] = [];
  /** Adapters applied in forward (unless merged or disabled). */
  activeAdapters: string[] = [];
  /** Adapters currently merged into the base weights, in merge order. */
  readonly mergedAdapters: string[] = [];
  /** While true, forward is the base layer's alone. */
  disabled = false;

  constructor(base: Module) {
    super();
    this.registerModule('base_layer', base);
  }

  get baseLayer(): LayerModule {
    return this.child<LayerModule>('base_layer');
  }

  /** Add adapter `name` with `config` (the method creates its parameters). */
  abstract addAdapter(name: string, config: PeftConfigBase, ctx: TargetContext): void;
  /** Remove adapter `name` and dispose its parameters. */
  abstract deleteAdapter(name: string): void;
  /** The adapter's saved tensors, as slots relative to this layer. */
  abstract adapterSlots(name: string): AdapterSlot[];
  /** The layer's output; arguments after `x` are passed through to the base layer where it takes them. */
  abstract forward(x: Tensor, ...rest: unknown[]): Tensor;

  /** Merge these adapters (default: the active ones) into the base weights. */
  merge(_names?: readonly string[]): void {
    throw new PeftError(`${this.typeName} cannot be merged`);
  }
  /** Undo every merge, last first. */
  unmerge(): void {
    throw new PeftError(`${this.typeName} cannot be unmerged`);
  }

  get merged(): boolean {
    return this.mergedAdapters.length > 0;
  }

  /** Adapters to apply now: active, not merged, unless disabled. */
  protected adaptersToApply(): string[] {
    if (this.disabled) return [];
    return this.activeAdapters.filter((a) => !this.mergedAdapters.includes(a));
  }

  protected requireAdapter(name: string): void {
    if (!this.adapterNames.includes(name)) {
      throw new PeftError(`${this.typeName}: no adapter '${name}' (has: ${this.adapterNames.join(', ') || 'none'})`);
    }
  }
}

/**
 * PEFT's `modules_to_save`: the original module is kept frozen as `original_module`, and a trainable copy per
 * adapter lives in `modules_to_save.<adapter>`. Saved keys are the module's own (no wrapper names).
 */
export class ModulesToSaveWrapper extends Module implements TensorLayer {
  activeAdapter: string | null = null;
  disabled = false;

  constructor(original: Module) {
    super();
    this.registerModule('original_module', original);
    this.registerModule('modules_to_save', new AdapterCopies());
  }

  get original(): LayerModule {
    return this.child<LayerModule>('original_module');
  }
  get copies(): AdapterCopies {
    return this.child<AdapterCopies>('modules_to_save');
  }

  /** Add a trainable copy for adapter `name`. */
  addAdapter(name: string): void {
    const copy = this.original.clone();
    copy.requiresGrad_(true);
    this.copies.add(name, copy);
    this.activeAdapter ??= name;
  }

  deleteAdapter(name: string): void {
    this.copies.remove(name)?.dispose();
    if (this.activeAdapter === name) this.activeAdapter = this.copies.names()[0] ?? null;
  }

  /** The module forward uses now. */
  current(): LayerModule {
    if (this.disabled || this.activeAdapter === null) return this.original;
    return this.copies.get(this.activeAdapter) as LayerModule;
  }

  forward(x: Tensor, ...rest: unknown[]): Tensor {
    return (this.current().forward as (x: Tensor, ...rest: unknown[]) => Tensor)(x, ...rest);
  }
}

/** The per-adapter copies of a {@link ModulesToSaveWrapper}. */
export class AdapterCopies extends Module {
  private readonly order: string[] = [];
  add(name: string, m: Module): void {
    this.registerModule(name, m);
    this.order.push(name);
  }
  get(name: string): Module {
    return this.child(name);
  }
  remove(name: string): Module | null {
    const i = this.order.indexOf(name);
    if (i < 0) return null;
    this.order.splice(i, 1);
    return this.unregisterModule(name);
  }
  names(): string[] {
    return [...this.order];
  }
  override clone(): this {
    const c = super.clone();
    (c as unknown as { order: string[] }).order = [...this.order];
    return c;
  }
}

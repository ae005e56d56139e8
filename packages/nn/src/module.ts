import { keep, type Tensor } from '@peftjs/tensor';
import { createParameter, type ParamOptions } from './init.js';

/** A flat map from dotted names (Hugging Face state-dict keys) to tensors. */
export type StateDict = Record<string, Tensor>;

/** One key whose tensor does not fit the module's slot. */
export interface StateDictMismatch {
  key: string;
  /** Shape and dtype of the module's current tensor. */
  expected: { shape: readonly number[]; dtype: string };
  /** Shape and dtype of the tensor offered in the dict. */
  got: { shape: readonly number[]; dtype: string };
}

/** What {@link Module.loadStateDict} found: keys the module wanted but the dict lacked, and the reverse. */
export interface LoadStateDictReport {
  /** Keys of the module (parameters and persistent buffers) that the dict does not provide. */
  missingKeys: string[];
  /** Keys of the dict that name nothing in the module. */
  unexpectedKeys: string[];
  /** Keys present on both sides whose shape or dtype differ (never loaded). */
  mismatched: StateDictMismatch[];
}

/** Options of {@link Module.loadStateDict}. */
export interface LoadStateDictOptions {
  /**
   * With `strict` (the default) any missing or unexpected key is an error; without it they are only reported.
   * Shape or dtype mismatches are always an error (as in PyTorch).
   */
  strict?: boolean;
}

/** Thrown by {@link Module.loadStateDict}; `report` lists every problem found, and nothing was loaded. */
export class StateDictError extends Error {
  constructor(readonly report: LoadStateDictReport) {
    super(StateDictError.describe(report));
    this.name = 'StateDictError';
  }

  private static describe(r: LoadStateDictReport): string {
    const parts: string[] = [];
    const list = (keys: string[]) =>
      keys.length > 12 ? `${keys.slice(0, 12).join(', ')}, … (${keys.length} in all)` : keys.join(', ');
    if (r.missingKeys.length) parts.push(`missing keys: ${list(r.missingKeys)}`);
    if (r.unexpectedKeys.length) parts.push(`unexpected keys: ${list(r.unexpectedKeys)}`);
    if (r.mismatched.length) {
      parts.push(
        `mismatched: ${r.mismatched
          .map(
            (m) =>
              `${m.key} (module has ${m.expected.dtype}[${m.expected.shape.join(', ')}], dict has ${m.got.dtype}[${m.got.shape.join(', ')}])`,
          )
          .join('; ')}`,
      );
    }
    return `loadStateDict: ${parts.join('; ')}`;
  }
}

/** A module whose forward maps one tensor to one tensor (layers, activations, adapter-wrapped layers). */
export interface TensorLayer {
  forward(x: Tensor): Tensor;
}

/** What {@link Module.checkStateDict} needs of an entry: a shape and a dtype (a tensor, or a header entry). */
export interface TensorLike {
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly isDisposed?: boolean;
}

/** A {@link Module} that is also a {@link TensorLayer}. */
export type LayerModule = Module & TensorLayer;

interface BufferSlot {
  tensor: Tensor | null;
  persistent: boolean;
}

/** Where a state-dict entry lives: module, kind of slot and local name. */
interface SlotRef {
  key: string;
  owner: Module;
  kind: 'param' | 'buffer';
  name: string;
  tensor: Tensor;
}

const NAME_RE = /^[^.\s]+$/;

/** Tensors and modules already copied by the {@link Module.clone} in progress (keeps ties inside the tree). */
let cloneMemo: { tensors: Map<Tensor, Tensor>; modules: Map<Module, Module> } | null = null;

/**
 * The base of every layer and model: a tree of named children, parameters and buffers, registered explicitly and
 * kept in registration order, so that {@link namedParameters} yields exactly the Hugging Face / PyTorch state-dict
 * names (`model.layers.0.self_attn.q_proj.weight`).
 *
 * Parameters are leaf tensors (`requiresGrad` true unless frozen) that the module owns: they are exempt from
 * `tidy` scopes and freed by {@link dispose}. Tensors are immutable, so loading or updating a parameter replaces
 * the tensor in its slot; layers therefore read their parameters at call time (`this.param('weight')`), never
 * cache them.
 *
 * Children are likewise looked up at call time (`this.child('q_proj')`), so {@link setSubmodule} can swap a layer
 * for an adapter-wrapped one without the parent knowing.
 */
export abstract class Module {
  /** Training mode (dropout active). New modules train; `eval()` switches it off down the tree. */
  training = true;
  private readonly _parameters = new Map<string, Tensor | null>();
  private readonly _buffers = new Map<string, BufferSlot>();
  private readonly _modules = new Map<string, Module | null>();
  private readonly _inits = new Map<string, () => Tensor>();
  private _disposed = false;

  /** The class name, used in `toString()` and error messages. */
  get typeName(): string {
    return this.constructor.name;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Registration

  private checkName(name: string, kind: 'parameter' | 'buffer' | 'module'): void {
    if (!NAME_RE.test(name)) throw new Error(`${this.typeName}: invalid ${kind} name '${name}' (no dots or spaces)`);
    const taken =
      (kind !== 'parameter' && this._parameters.has(name)) ||
      (kind !== 'buffer' && this._buffers.has(name)) ||
      (kind !== 'module' && this._modules.has(name));
    if (taken) throw new Error(`${this.typeName}: '${name}' is already registered as something else`);
  }

  /**
   * Register (or re-register) parameter `name`. The tensor becomes owned by the module: kept out of `tidy` scopes
   * and disposed with it. `null` registers an absent slot (e.g. `bias=False`), which has no state-dict key.
   * Its `requiresGrad` is left as given (creation helpers set it true).
   */
  protected registerParameter(name: string, tensor: Tensor | null): Tensor | null {
    this.checkName(name, 'parameter');
    if (tensor) keep(tensor);
    this._parameters.set(name, tensor);
    return tensor;
  }

  /**
   * Create parameter `name` of `shape` with `init()` (zeros under {@link withoutInit}), register it with
   * `requiresGrad = true`, and remember `init` so that {@link initParameters} can draw it again.
   */
  protected addParameter(name: string, shape: readonly number[], init: () => Tensor, opts: ParamOptions = {}): Tensor {
    const t = createParameter(shape, init, opts);
    this.registerParameter(name, t);
    this._inits.set(name, init);
    return t;
  }

  /**
   * Register buffer `name`: a tensor that is state but not a parameter (no gradient). Persistent buffers appear in
   * {@link stateDict}; non-persistent ones (derived tables) do not.
   */
  protected registerBuffer(name: string, tensor: Tensor | null, opts: { persistent?: boolean } = {}): Tensor | null {
    this.checkName(name, 'buffer');
    if (tensor) keep(tensor);
    this._buffers.set(name, { tensor, persistent: opts.persistent ?? true });
    return tensor;
  }

  /** Register child module `name` (its parameters get the prefix `name.`). Returns the child. */
  protected registerModule<M extends Module | null>(name: string, module: M): M {
    this.checkName(name, 'module');
    if (module !== null && !(module instanceof Module))
      throw new TypeError(`${this.typeName}: '${name}' is not a Module`);
    this._modules.set(name, module);
    return module;
  }

  /** Remove child `name` (returns it; the caller owns it now). */
  protected unregisterModule(name: string): Module | null {
    const m = this._modules.get(name) ?? null;
    this._modules.delete(name);
    return m;
  }

  /** Remove parameter slot `name` (returns its tensor; the caller owns it now). */
  protected unregisterParameter(name: string): Tensor | null {
    const t = this._parameters.get(name) ?? null;
    this._parameters.delete(name);
    this._inits.delete(name);
    return t;
  }

  /**
   * A deep copy of this module tree. Tensors are immutable and storage is reference-counted, so parameters and
   * buffers are copied by sharing storage (`detach()`): no data is duplicated until one side is updated, and each
   * copy can be disposed independently. `requiresGrad` is copied. Sharing inside the tree is kept: a tensor tied to
   * two slots (or a module reachable twice) is one tensor (module) in the copy too.
   */
  clone(): this {
    const top = cloneMemo === null;
    if (top) cloneMemo = { tensors: new Map(), modules: new Map() };
    const memo = cloneMemo!;
    try {
      const seen = memo.modules.get(this);
      if (seen) return seen as this;
      const copy = Object.create(Object.getPrototypeOf(this)) as this;
      memo.modules.set(this, copy);
      Object.assign(copy, this);
      const self = copy as unknown as {
        _parameters: Map<string, Tensor | null>;
        _buffers: Map<string, BufferSlot>;
        _modules: Map<string, Module | null>;
        _inits: Map<string, () => Tensor>;
      };
      const share = (t: Tensor) => {
        let d = memo.tensors.get(t);
        if (!d) {
          d = keep(t.detach());
          d.requiresGrad = t.requiresGrad;
          memo.tensors.set(t, d);
        }
        return d;
      };
      self._parameters = new Map([...this._parameters].map(([k, t]) => [k, t ? share(t) : null]));
      self._buffers = new Map(
        [...this._buffers].map(([k, b]) => [k, { ...b, tensor: b.tensor ? share(b.tensor) : null }]),
      );
      self._modules = new Map([...this._modules].map(([k, m]) => [k, m ? m.clone() : null]));
      self._inits = new Map(this._inits);
      return copy;
    } finally {
      if (top) cloneMemo = null;
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Direct access

  /** Parameter `name` of this module (not of children). Throws if it is not registered or is absent (null). */
  param(name: string): Tensor {
    const t = this._parameters.get(name);
    if (!t) {
      throw new Error(
        `${this.typeName}: no parameter '${name}'${this._parameters.has(name) ? ' (registered as absent)' : ''}`,
      );
    }
    return t;
  }

  /** Parameter `name`, or null when the slot is absent (a layer without bias). */
  optionalParam(name: string): Tensor | null {
    if (!this._parameters.has(name)) throw new Error(`${this.typeName}: no parameter slot '${name}'`);
    return this._parameters.get(name) ?? null;
  }

  /** Whether this module has a parameter slot `name` (present or absent). */
  hasParameter(name: string): boolean {
    return this._parameters.has(name);
  }

  /**
   * Put `tensor` into existing parameter slot `name` and return the previous tensor, which the caller now owns (it
   * is not disposed here: it may be tied to another slot, or still be needed). `requiresGrad` is left as given.
   */
  setParameter(name: string, tensor: Tensor | null): Tensor | null {
    if (!this._parameters.has(name)) throw new Error(`${this.typeName}: no parameter slot '${name}'`);
    const old = this._parameters.get(name) ?? null;
    if (tensor) keep(tensor);
    this._parameters.set(name, tensor);
    return old;
  }

  /** Buffer `name` of this module. Throws if absent. */
  buffer(name: string): Tensor {
    const b = this._buffers.get(name);
    if (!b?.tensor) throw new Error(`${this.typeName}: no buffer '${name}'`);
    return b.tensor;
  }

  /** Replace buffer `name`; returns the previous tensor (now owned by the caller). */
  setBuffer(name: string, tensor: Tensor | null): Tensor | null {
    const b = this._buffers.get(name);
    if (!b) throw new Error(`${this.typeName}: no buffer slot '${name}'`);
    const old = b.tensor;
    if (tensor) keep(tensor);
    b.tensor = tensor;
    return old;
  }

  /** Direct child `name`, typed by the caller. Throws if there is none. */
  child<M extends Module = Module>(name: string): M {
    const m = this._modules.get(name);
    if (!m) {
      throw new Error(
        `${this.typeName}: no submodule '${name}' (children: ${[...this._modules.keys()].join(', ') || 'none'})`,
      );
    }
    return m as M;
  }

  /** Direct child `name`, or null when absent or registered as null. */
  optionalChild<M extends Module = Module>(name: string): M | null {
    return (this._modules.get(name) as M | undefined) ?? null;
  }

  /** Call child `name` as a tensor → tensor layer. */
  protected callLayer(name: string, x: Tensor): Tensor {
    const m = this.child<LayerModule>(name);
    if (typeof m.forward !== 'function') throw new Error(`${this.typeName}: submodule '${name}' has no forward()`);
    return m.forward(x);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Traversal

  /** Direct children as [name, module] in registration order (absent ones skipped). */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [n, m] of this._modules) if (m) out.push([n, m]);
    return out;
  }

  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /**
   * This module and every descendant, depth first, as [dotted path, module]; this module has path `prefix`
   * ('' by default). A module reachable twice is listed once (as PyTorch).
   */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const walk = (m: Module, p: string) => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([p, m]);
      for (const [n, c] of m._modules) if (c) walk(c, p ? `${p}.${n}` : n);
    };
    walk(this, prefix);
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /**
   * Every parameter as [dotted name, tensor], in registration order (a module's own parameters, then its children
   * depth first), which is PyTorch's `named_parameters()` order. A tensor shared by several slots (tied weights) is
   * listed once, under its first name, unless `removeDuplicate` is false.
   */
  namedParameters(opts: { prefix?: string; recurse?: boolean; removeDuplicate?: boolean } = {}): [string, Tensor][] {
    const removeDuplicate = opts.removeDuplicate ?? true;
    const mods: [string, Module][] =
      opts.recurse === false ? [[opts.prefix ?? '', this]] : this.namedModules(opts.prefix);
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    for (const [p, m] of mods) {
      for (const [n, t] of m._parameters) {
        if (!t) continue;
        if (removeDuplicate) {
          if (seen.has(t)) continue;
          seen.add(t);
        }
        out.push([p ? `${p}.${n}` : n, t]);
      }
    }
    return out;
  }

  /** The parameters of {@link namedParameters}. */
  parameters(opts: { recurse?: boolean } = {}): Tensor[] {
    return this.namedParameters(opts).map(([, t]) => t);
  }

  /** Parameters with `requiresGrad` (what an optimizer should update), by name. */
  namedTrainableParameters(): [string, Tensor][] {
    return this.namedParameters().filter(([, t]) => t.requiresGrad);
  }

  /** Every buffer as [dotted name, tensor] (persistent or not). */
  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    for (const [p, m] of this.namedModules(prefix)) {
      for (const [n, b] of m._buffers) {
        if (!b.tensor || seen.has(b.tensor)) continue;
        seen.add(b.tensor);
        out.push([p ? `${p}.${n}` : n, b.tensor]);
      }
    }
    return out;
  }

  /** Parameter counts (each shared tensor counted once), as PEFT's `get_nb_trainable_parameters`. */
  countParameters(): { total: number; trainable: number } {
    let total = 0;
    let trainable = 0;
    for (const t of this.parameters()) {
      total += t.size;
      if (t.requiresGrad) trainable += t.size;
    }
    return { total, trainable };
  }

  /** Call `fn` on every module of the tree (children first, then this one, as PyTorch's `apply`). */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Paths

  /** The module at dotted `path` ('' is this module). Throws, naming the missing step, if there is none. */
  getSubmodule(path: string): Module {
    if (path === '') return this;
    let m: Module = this;
    const parts = path.split('.');
    parts.forEach((part, i) => {
      const next = m._modules.get(part);
      if (!next) {
        const at = parts.slice(0, i).join('.') || '(root)';
        throw new Error(
          `getSubmodule('${path}'): ${at} (${m.typeName}) has no submodule '${part}'` +
            ` (children: ${[...m._modules.keys()].join(', ') || 'none'})`,
        );
      }
      m = next;
    });
    return m;
  }

  /** Whether a module exists at dotted `path`. */
  hasSubmodule(path: string): boolean {
    try {
      this.getSubmodule(path);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Put `module` at dotted `path`, replacing the child there, and return the previous one (not disposed: an
   * adapter wrapper typically keeps it as its `base_layer`). The parent must exist; the last step must name an
   * existing child unless `allowNew` is set.
   */
  setSubmodule(path: string, module: Module, opts: { allowNew?: boolean } = {}): Module | null {
    if (path === '') throw new Error('setSubmodule: the path must not be empty');
    if (!(module instanceof Module)) throw new TypeError(`setSubmodule('${path}'): not a Module`);
    const cut = path.lastIndexOf('.');
    const parent = this.getSubmodule(cut < 0 ? '' : path.slice(0, cut));
    const name = path.slice(cut + 1);
    if (!parent._modules.has(name)) {
      if (!opts.allowNew) {
        throw new Error(
          `setSubmodule('${path}'): ${parent.typeName} has no submodule '${name}' (pass { allowNew: true } to add one)`,
        );
      }
      parent.checkName(name, 'module');
    }
    const old = parent._modules.get(name) ?? null;
    parent._modules.set(name, module);
    return old;
  }

  // -------------------------------------------------------------------------------------------------------------
  // State

  /** Every state-dict slot in PyTorch's order: own parameters, own persistent buffers, then children. */
  private slots(prefix = ''): SlotRef[] {
    const out: SlotRef[] = [];
    const seen = new Set<Module>();
    const walk = (m: Module, p: string) => {
      if (seen.has(m)) return;
      seen.add(m);
      const key = (n: string) => (p ? `${p}.${n}` : n);
      for (const [n, t] of m._parameters) if (t) out.push({ key: key(n), owner: m, kind: 'param', name: n, tensor: t });
      for (const [n, b] of m._buffers) {
        if (b.tensor && b.persistent) out.push({ key: key(n), owner: m, kind: 'buffer', name: n, tensor: b.tensor });
      }
      for (const [n, c] of m._modules) if (c) walk(c, key(n));
    };
    walk(this, prefix);
    return out;
  }

  /**
   * Parameters and persistent buffers by dotted name, in PyTorch's `state_dict()` order. Tied weights appear under
   * every name (as in PyTorch). The tensors are the module's own: do not dispose them.
   */
  stateDict(prefix = ''): StateDict {
    const out: StateDict = {};
    for (const s of this.slots(prefix)) out[s.key] = s.tensor;
    return out;
  }

  /**
   * What {@link loadStateDict} would report for `dict`, without loading anything. Entries only need a shape and a
   * dtype, so a checkpoint can be checked from its header before any tensor is read.
   */
  checkStateDict(dict: Readonly<Record<string, TensorLike>> | ReadonlyMap<string, TensorLike>): LoadStateDictReport {
    return this.planLoad(dict).report;
  }

  private planLoad<T extends TensorLike>(
    dict: Readonly<Record<string, T>> | ReadonlyMap<string, T>,
  ): { report: LoadStateDictReport; plan: { group: SlotRef[]; source: T }[] } {
    const entries: Map<string, T> = dict instanceof Map ? new Map(dict) : new Map(Object.entries(dict));
    const slots = this.slots();
    const groups = new Map<Tensor, SlotRef[]>();
    for (const s of slots) {
      const g = groups.get(s.tensor);
      if (g) g.push(s);
      else groups.set(s.tensor, [s]);
    }
    const report: LoadStateDictReport = { missingKeys: [], unexpectedKeys: [], mismatched: [] };
    const plan: { group: SlotRef[]; source: T }[] = [];
    for (const [current, group] of groups) {
      const found = group.find((s) => entries.has(s.key));
      if (!found) {
        for (const s of group) report.missingKeys.push(s.key);
        continue;
      }
      const source = entries.get(found.key)!;
      if (source.isDisposed) throw new Error(`loadStateDict: tensor '${found.key}' was disposed`);
      const sameShape =
        source.shape.length === current.shape.length && source.shape.every((d, i) => d === current.shape[i]);
      if (!sameShape || source.dtype !== current.dtype) {
        report.mismatched.push({
          key: found.key,
          expected: { shape: [...current.shape], dtype: current.dtype },
          got: { shape: [...source.shape], dtype: source.dtype },
        });
        continue;
      }
      plan.push({ group, source });
    }
    const known = new Set(slots.map((s) => s.key));
    for (const k of entries.keys()) if (!known.has(k)) report.unexpectedKeys.push(k);
    report.missingKeys.sort();
    report.unexpectedKeys.sort();
    return { report, plan };
  }

  /**
   * Load `dict` into the module. Each loaded slot gets a new handle sharing the dict tensor's storage (no copy; the
   * caller may dispose its own tensors afterwards) and keeps the old parameter's `requiresGrad`; the old tensors are
   * disposed. Tied slots (one tensor registered under several names) stay tied: any one of their names in the dict
   * loads them all, and none is reported missing.
   *
   * Everything is checked before anything is loaded. Returns the report; throws {@link StateDictError} with it on
   * shape/dtype mismatches, and, when `strict` (the default), on missing or unexpected keys.
   */
  loadStateDict(dict: StateDict | ReadonlyMap<string, Tensor>, opts: LoadStateDictOptions = {}): LoadStateDictReport {
    const strict = opts.strict ?? true;
    const { report, plan } = this.planLoad(dict);
    if (report.mismatched.length || (strict && (report.missingKeys.length || report.unexpectedKeys.length))) {
      throw new StateDictError(report);
    }
    for (const { group, source } of plan) {
      const old = group[0].tensor;
      if (old === source) continue; // the module's own tensor, already in place
      const next = (source as Tensor).detach();
      next.requiresGrad = group[0].kind === 'param' ? old.requiresGrad : false;
      for (const s of group) {
        if (s.kind === 'param') s.owner.setParameter(s.name, next);
        else s.owner.setBuffer(s.name, next);
      }
      old.dispose();
    }
    return report;
  }

  /**
   * Draw the parameters named by `keys` (state-dict keys; all parameters when omitted) afresh from the initialisers
   * they were created with, keeping `requiresGrad`. Tied slots get one new tensor together. Used to initialise the
   * weights a checkpoint lacks (a new classification head). Throws for a key that has no initialiser.
   */
  initParameters(keys?: readonly string[]): this {
    const slots = this.slots().filter((s) => s.kind === 'param');
    const wanted = keys ? new Set(keys) : null;
    if (wanted) {
      const known = new Set(slots.map((s) => s.key));
      for (const k of wanted) if (!known.has(k)) throw new Error(`initParameters: no parameter '${k}'`);
    }
    const groups = new Map<Tensor, SlotRef[]>();
    for (const s of slots) {
      const g = groups.get(s.tensor);
      if (g) g.push(s);
      else groups.set(s.tensor, [s]);
    }
    for (const [old, group] of groups) {
      if (wanted && !group.some((s) => wanted.has(s.key))) continue;
      const first = group.find((s) => s.owner._inits.has(s.name));
      if (!first) throw new Error(`initParameters: '${group[0].key}' has no initialiser`);
      const next = first.owner._inits.get(first.name)!();
      next.requiresGrad = old.requiresGrad;
      for (const s of group) s.owner.setParameter(s.name, next);
      old.dispose();
    }
    return this;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Modes and gradients

  /** Set training mode on this module and every descendant. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode (`train(false)`): dropout off. */
  eval(): this {
    return this.train(false);
  }

  /** Set `requiresGrad` on every parameter of the tree (false freezes the module). */
  requiresGrad_(requiresGrad = true): this {
    for (const t of this.parameters()) t.requiresGrad = requiresGrad;
    return this;
  }

  /** Freeze every parameter (`requiresGrad_(false)`). */
  freeze(): this {
    return this.requiresGrad_(false);
  }

  /** Drop the accumulated gradient of every parameter. */
  zeroGrad(): void {
    for (const t of this.parameters()) t.zeroGrad();
  }

  /** Whether {@link dispose} ran. */
  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Free every parameter and buffer of the tree (shared ones once). The module is unusable afterwards. */
  dispose(): void {
    const all = new Set<Tensor>();
    for (const m of this.modules()) {
      for (const t of m._parameters.values()) if (t) all.add(t);
      for (const b of m._buffers.values()) if (b.tensor) all.add(b.tensor);
      m._disposed = true;
    }
    for (const t of all) t.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Extra text shown after the class name by {@link toString} (layer sizes, eps, …). */
  protected extraRepr(): string {
    return '';
  }

  /** A PyTorch-style printout of the tree. */
  toString(): string {
    const lines: string[] = [];
    const walk = (m: Module, name: string | null, indent: string) => {
      const head = `${indent}${name !== null ? `(${name}): ` : ''}${m.typeName}(${m.extraRepr()}`;
      const kids = m.namedChildren();
      if (!kids.length) {
        lines.push(`${head})`);
        return;
      }
      lines.push(head);
      for (const [n, c] of kids) walk(c, n, `${indent}  `);
      lines.push(`${indent})`);
    };
    walk(this, null, '');
    return lines.join('\n');
  }
}

/** An ordered list of modules named '0', '1', … (PyTorch's `nn.ModuleList`). */
export class ModuleList<M extends Module = Module> extends Module {
  private count = 0;

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  /** Add `module` under the next index. */
  append(module: M): this {
    this.registerModule(String(this.count++), module);
    return this;
  }

  /** The module at index `i` (looked up at call time, so replacements by path are seen). */
  get(i: number): M {
    if (!Number.isInteger(i) || i < 0 || i >= this.count)
      throw new RangeError(`ModuleList: index ${i} out of range [0, ${this.count})`);
    return this.child<M>(String(i));
  }

  get length(): number {
    return this.count;
  }

  *[Symbol.iterator](): Iterator<M> {
    for (let i = 0; i < this.count; i++) yield this.get(i);
  }
}

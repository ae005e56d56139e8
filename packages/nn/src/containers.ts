import type { Tensor } from '@peftjs/tensor';
import { Module } from './module.js';

/** Modules by name (PyTorch's `nn.ModuleDict`): children are named by their keys, in insertion order. */
export class ModuleDict<M extends Module = Module> extends Module {
  private readonly keyList: string[] = [];

  constructor(entries: Iterable<[string, M]> = []) {
    super();
    for (const [k, m] of entries) this.set(k, m);
  }
  /** Add or replace entry `key`; a replaced module is returned to the caller. */
  set(key: string, module: M): M | null {
    const old = this.delete(key);
    this.registerModule(key, module);
    this.keyList.push(key);
    return old;
  }
  get(key: string): M {
    return this.child<M>(key);
  }
  has(key: string): boolean {
    return this.keyList.includes(key);
  }
  /** Remove entry `key` and return it (the caller owns it), or null. */
  delete(key: string): M | null {
    const i = this.keyList.indexOf(key);
    if (i < 0) return null;
    this.keyList.splice(i, 1);
    return this.unregisterModule(key) as M | null;
  }
  keys(): string[] {
    return [...this.keyList];
  }
  override clone(): this {
    const c = super.clone();
    (c as unknown as { keyList: string[] }).keyList = [...this.keyList];
    return c;
  }
  get size(): number {
    return this.keyList.length;
  }
}

/** Parameters by name (PyTorch's `nn.ParameterDict`): state-dict keys are `<prefix>.<key>`. */
export class ParameterDict extends Module {
  private readonly keyList: string[] = [];

  /** Add or replace parameter `key` (the module owns it); a replaced tensor is returned to the caller. */
  set(key: string, tensor: Tensor): Tensor | null {
    if (this.keyList.includes(key)) return this.setParameter(key, tensor);
    this.registerParameter(key, tensor);
    this.keyList.push(key);
    return null;
  }
  get(key: string): Tensor {
    return this.param(key);
  }
  has(key: string): boolean {
    return this.keyList.includes(key);
  }
  /** Remove parameter `key` and return it (the caller owns it), or null. */
  delete(key: string): Tensor | null {
    const i = this.keyList.indexOf(key);
    if (i < 0) return null;
    this.keyList.splice(i, 1);
    return this.unregisterParameter(key);
  }
  keys(): string[] {
    return [...this.keyList];
  }
  override clone(): this {
    const c = super.clone();
    (c as unknown as { keyList: string[] }).keyList = [...this.keyList];
    return c;
  }
}

import type { Module } from '@peftjs/nn';
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

/** What a method sees when it adapts one module. */
export interface TargetContext {
  /** Dotted path of the module in the original model (e.g. `model.layers.0.self_attn.q_proj`). */
  path: string;
  /** The adapter's name (`"default"` unless named). */
  adapterName: string;
}

/**
 * A PEFT method: how to read its config, which modules it can adapt, and how to wrap them. A method package
 * implements this and calls {@link registerAdapter}; everything else (matching target modules, freezing, saving,
 * loading, multiple adapters, merging) is shared.
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
  /** Whether `module` is something this method can wrap. */
  canAdapt(module: Module): boolean;
  /** Wrap `module` with a new adapter layer holding adapter `ctx.adapterName`. */
  createLayer(module: Module, config: C, ctx: TargetContext): AdapterLayer;
  /** Default target modules by Hugging Face `model_type`, used when `target_modules` is null. */
  defaultTargets?(modelType: string | undefined): string[] | undefined;
}

const REGISTRY_KEY = Symbol.for('@peftjs/registry/methods');
const g = globalThis as unknown as Record<symbol, Map<string, AdapterMethod> | undefined>;
g[REGISTRY_KEY] ??= new Map();
const methods: Map<string, AdapterMethod> = g[REGISTRY_KEY];

/** Register a method. Registering a name or peft_type twice, or an incomplete method, is an error. */
export function registerAdapter<C extends PeftConfigBase>(method: AdapterMethod<C>): void {
  const required = ['name', 'peftType', 'normalizeConfig', 'toJSON', 'canAdapt', 'createLayer'] as const;
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

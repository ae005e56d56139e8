import type { Module, ParameterDict } from '@peftjs/nn';
import { noGrad, type Tensor } from '@peftjs/tensor';
import type { PeftConfigBase } from './config.js';
import { PeftError } from './errors.js';
import type { AdapterLayer, AdapterSlot, ModulesToSaveWrapper } from './layer.js';
import type { AdapterMethod } from './method.js';

export type { AdapterSlot } from './layer.js';

/** Where an adapter's tensors live, for {@link collectSlots}. */
export interface SlotSources {
  adapterName: string;
  config: PeftConfigBase;
  /** Saved-key prefix of modules inside the model (`base_model.model.` or `base_model.`). */
  prefix: string;
  model: Module;
  layers: readonly (readonly [string, AdapterLayer])[];
  wrappers: readonly (readonly [string, ModulesToSaveWrapper])[];
  shared: readonly (readonly [string, ParameterDict])[];
  promptEncoder: Module | null;
}

/** Every saved tensor of one adapter by its saved key (before any save transform). */
export function collectSlots(src: SlotSources): Map<string, AdapterSlot> {
  const name = src.adapterName;
  const slots = new Map<string, AdapterSlot>();
  for (const [path, layer] of src.layers) {
    for (const s of layer.adapterSlots(name)) slots.set(`${src.prefix}${path}.${s.key}`, s);
  }
  // Shared state lives on the tuner root: saved once, under an absolute key.
  for (const [sharedName, dict] of src.shared) {
    slots.set(`base_model.${sharedName}`, { key: sharedName, owner: dict, param: name });
  }
  if (src.promptEncoder) {
    for (const [pname] of src.promptEncoder.namedParameters()) {
      slots.set(`prompt_encoder.${pname}`, ownerSlot(src.promptEncoder, pname));
    }
  }
  for (const [path, w] of src.wrappers) {
    if (!w.copies.names().includes(name)) continue;
    const copy = w.copies.get(name);
    for (const [pname] of copy.namedParameters()) slots.set(`${src.prefix}${path}.${pname}`, ownerSlot(copy, pname));
  }
  const bias = (src.config as { bias?: string }).bias;
  if (bias === 'all' || (bias && bias !== 'none')) {
    const only = bias !== 'all' ? new Set(src.layers.map(([p]) => `${p}.base_layer`)) : null;
    for (const [path, m] of src.model.namedModules()) {
      if (!m.hasParameter('bias') || !m.optionalParam('bias')) continue;
      if (only && !only.has(path)) continue;
      slots.set(`${src.prefix}${path}.bias`, { key: 'bias', owner: m, param: 'bias' });
    }
  }
  return slots;
}

function ownerSlot(root: Module, pname: string): AdapterSlot {
  const dot = pname.lastIndexOf('.');
  const owner = dot < 0 ? root : root.getSubmodule(pname.slice(0, dot));
  return { key: pname, owner, param: pname.slice(dot + 1) };
}

/** What is written for an adapter: `tensors` by saved key; `created` are tensors the transform made (free them). */
export interface SavedState {
  tensors: Record<string, Tensor>;
  created: Tensor[];
}

/** Apply the method's save transform to the live state (PEFT's `_get_adapter_state_dict`). */
export function savedState(
  live: Record<string, Tensor>,
  method: AdapterMethod,
  ctx: { adapterName: string; config: PeftConfigBase },
): SavedState {
  if (!method.transformStateForSave) return { tensors: live, created: [] };
  const inputs = new Set(Object.values(live));
  const tensors = method.transformStateForSave(live, ctx);
  return { tensors, created: Object.values(tensors).filter((t) => !inputs.has(t)) };
}

const listKeys = (keys: string[]) => `${keys.slice(0, 8).join(', ')}${keys.length > 8 ? ` … (${keys.length})` : ''}`;

/**
 * Load `fileTensors` (keys as in adapter_model.safetensors) into the adapter's slots, through the method's load
 * transform. Everything is checked before anything changes.
 */
export function applyAdapterState(
  fileTensors: Record<string, Tensor>,
  slots: Map<string, AdapterSlot>,
  method: AdapterMethod,
  ctx: { adapterName: string; config: PeftConfigBase; strict: boolean },
): { missingKeys: string[] } {
  const inputs = new Set(Object.values(fileTensors));
  const tensors = method.transformStateForLoad
    ? method.transformStateForLoad(fileTensors, { adapterName: ctx.adapterName, config: ctx.config })
    : fileTensors;
  const created = Object.values(tensors).filter((t) => !inputs.has(t));
  try {
    const keys = Object.keys(tensors);
    const unexpected = keys.filter((k) => !slots.has(k));
    if (unexpected.length) {
      throw new PeftError(
        `adapter weights have keys that match nothing in the model: ${listKeys(unexpected)}; expected keys like ${[...slots.keys()].slice(0, 3).join(', ')}`,
      );
    }
    const missing = [...slots.keys()].filter((k) => !keys.includes(k));
    if (missing.length && ctx.strict) throw new PeftError(`adapter weights lack keys: ${listKeys(missing)}`);
    for (const k of keys) {
      const t = tensors[k]!;
      const s = slots.get(k)!;
      const cur = s.owner.param(s.param);
      if (cur.shape.length !== t.shape.length || cur.shape.some((d, i) => d !== t.shape[i])) {
        throw new PeftError(
          `adapter weight '${k}' has shape [${t.shape.join(', ')}], the model expects [${cur.shape.join(', ')}]`,
        );
      }
    }
    for (const k of keys) {
      const t = tensors[k]!;
      const s = slots.get(k)!;
      const old = s.owner.param(s.param);
      const next = noGrad(() => (t.dtype === old.dtype ? t.detach() : t.cast(old.dtype)));
      next.requiresGrad = old.requiresGrad;
      s.owner.setParameter(s.param, next);
      old.dispose();
    }
    return { missingKeys: missing };
  } finally {
    for (const t of created) t.dispose();
  }
}

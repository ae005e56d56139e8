import type { Module } from '@peftjs/nn';
import { PeftConfigError } from './errors.js';
import { ModulesToSaveWrapper } from './layer.js';
import { type AdapterMethod, getAdapterMethodByPeftType, type ModelInfo } from './method.js';
import type { PeftConfigBase } from './config.js';

/** What a method may know of `model`: its Hugging Face config and model_type. */
export function modelInfo(model: Module): ModelInfo {
  const config = (model as unknown as { config?: Record<string, unknown> }).config;
  const modelType = typeof config?.model_type === 'string' ? config.model_type : undefined;
  return { modelType, config: config ?? {} };
}

/** The registered method for a raw config's `peft_type`; a missing or unknown one is a config error. */
export function methodOf(raw: Record<string, unknown> | PeftConfigBase): AdapterMethod {
  const peftType = (raw as { peft_type?: unknown }).peft_type;
  if (typeof peftType !== 'string') throw new PeftConfigError('peft_type', 'is required (e.g. "LORA")');
  try {
    return getAdapterMethodByPeftType(peftType);
  } catch (e) {
    throw new PeftConfigError('peft_type', (e as Error).message);
  }
}

/** Whether `key` lies inside a modules_to_save wrapper (its copies are never wrapped again). */
export function isInsideWrapper(model: Module, key: string): boolean {
  const parts = key.split('.');
  for (let i = 1; i < parts.length; i++) {
    if (model.getSubmodule(parts.slice(0, i).join('.')) instanceof ModulesToSaveWrapper) return true;
  }
  return false;
}

/** PEFT's `_remove_adapter_name_from_state_dict_key`: drop the `.<adapter>` path component. */
export function removeAdapterName(key: string, adapterName: string): string {
  const parts = key.split('.');
  const i = parts.lastIndexOf(adapterName);
  if (i < 0) return key;
  parts.splice(i, 1);
  return parts.join('.');
}

export function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]),
  );
}

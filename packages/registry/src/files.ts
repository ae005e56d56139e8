import { isSafetensorsError, loadTensors, SafetensorsReader, saveTensors } from '@peftjs/safetensors';
import type { Backend, Tensor } from '@peftjs/tensor';
import { PeftError } from './errors.js';

/** The files of one saved adapter: `adapter_config.json` (as an object) and `adapter_model.safetensors` (bytes). */
export interface AdapterFiles {
  config: Record<string, unknown>;
  weights: Uint8Array;
}

/** Floating-point dtypes an adapter file may hold (PEFT writes F32, F16 or BF16). */
const FLOAT_DTYPES = new Set(['F64', 'F32', 'F16', 'BF16']);

/** Serialize an adapter's config and tensors as PEFT's save_pretrained does (`format: pt` metadata). */
export async function encodeAdapterFiles(
  config: Record<string, unknown>,
  tensors: Record<string, Tensor>,
): Promise<AdapterFiles> {
  return { config, weights: await saveTensors(tensors, { format: 'pt' }) };
}

/** Parse `adapter_config.json` text; `source` names it in errors. */
export function parseAdapterConfig(text: string, source = 'adapter_config.json'): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new PeftError(`${source} is not valid JSON: ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new PeftError(`${source} must hold a JSON object`);
  return v as Record<string, unknown>;
}

/**
 * Check and decode adapter files onto `backend`: the weights must be a valid safetensors file of floating-point
 * tensors with finite values. Errors name the tensor.
 */
export async function decodeAdapterFiles(
  files: AdapterFiles,
  backend: Backend | undefined,
): Promise<{ config: Record<string, unknown>; tensors: Record<string, Tensor> }> {
  if (!files || typeof files !== 'object') throw new PeftError('adapter files: expected { config, weights }');
  const { config, weights } = files;
  if (!config || typeof config !== 'object' || Array.isArray(config))
    throw new PeftError('adapter_config.json must hold a JSON object');
  if (!(weights instanceof Uint8Array)) throw new PeftError('adapter_model.safetensors: expected bytes (Uint8Array)');
  let reader: SafetensorsReader;
  try {
    reader = SafetensorsReader.fromBytes(weights);
  } catch (e) {
    throw new PeftError(`adapter_model.safetensors: ${isSafetensorsError(e) ? e.message : String(e)}`);
  }
  for (const name of reader.names()) {
    const { dtype } = reader.info(name);
    if (!FLOAT_DTYPES.has(dtype)) {
      throw new PeftError(
        `adapter_model.safetensors: tensor '${name}' is ${dtype}; adapter weights are floating point`,
      );
    }
  }
  let tensors: Record<string, Tensor>;
  try {
    tensors = await loadTensors(reader, { dtype: 'f32', backend });
  } catch (e) {
    throw new PeftError(`adapter_model.safetensors: ${(e as Error).message}`);
  }
  try {
    for (const [name, t] of Object.entries(tensors)) {
      const values = await t.data();
      for (let i = 0; i < values.length; i++) {
        if (!Number.isFinite(values[i])) {
          throw new PeftError(`adapter_model.safetensors: tensor '${name}' holds a non-finite value (${values[i]})`);
        }
      }
    }
  } catch (e) {
    for (const t of Object.values(tensors)) t.dispose();
    throw e;
  }
  return { config, tensors };
}

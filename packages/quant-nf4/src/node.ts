/**
 * `@peftjs/quant-nf4/node`: quantized Hugging Face checkpoint directories on a Node file system.
 *
 * ```ts
 * import { fromPretrainedQuantized, saveQuantizedPretrained } from '@peftjs/quant-nf4/node';
 * // a directory transformers saved from a bitsandbytes-loaded model (config.json has quantization_config)
 * const model = await fromPretrainedQuantized('out/llama-nf4');
 * // or a float checkpoint quantized at load time
 * const q = await fromPretrainedQuantized('checkpoints/tiny-llama', {
 *   quantization: { load_in_4bit: true, bnb_4bit_quant_type: 'nf4', bnb_4bit_use_double_quant: true },
 * });
 * await saveQuantizedPretrained(q, 'out/tiny-llama-nf4');
 * ```
 * @packageDocumentation
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PreTrainedModel, RawConfig } from '@peftjs/models';
import { fromPretrained } from '@peftjs/models/node';
import { serialize } from '@peftjs/safetensors';
import { openCheckpoint } from '@peftjs/safetensors/node';
import { type Backend, initBackend } from '@peftjs/tensor';
import { loadQuantizedModel, quantizedConfigJson, quantizedStateDict, quantizeModel } from './checkpoint.js';
import type { BitsAndBytesConfig } from './config.js';
import { QuantizationError } from './errors.js';

export interface FromPretrainedQuantizedOptions {
  /** Backend (a started one, or a registered name). Default: the active backend. */
  backend?: Backend | string;
  /** Quantize a float checkpoint at load time with these options (ignored for an already-quantized one). */
  quantization?: BitsAndBytesConfig;
  strict?: boolean;
}

/**
 * Load a quantized model: a directory whose config.json has a bitsandbytes `quantization_config` is read as
 * transformers saved it; a float checkpoint is loaded and quantized with `opts.quantization`.
 */
export async function fromPretrainedQuantized(
  dir: string,
  opts: FromPretrainedQuantizedOptions = {},
): Promise<PreTrainedModel> {
  const backend = typeof opts.backend === 'string' ? await initBackend(opts.backend) : opts.backend;
  let config: RawConfig;
  try {
    config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as RawConfig;
  } catch (e) {
    throw new QuantizationError('BAD_CONFIG', `${join(dir, 'config.json')}: ${(e as Error).message}`);
  }
  if ((config as Record<string, unknown>).quantization_config) {
    const reader = await openCheckpoint(dir);
    try {
      return await loadQuantizedModel(config, reader, { backend, strict: opts.strict });
    } finally {
      await reader.close();
    }
  }
  if (!opts.quantization) {
    throw new QuantizationError('BAD_CONFIG', `${dir} is a float checkpoint: pass options.quantization to quantize it`);
  }
  const model = await fromPretrained(dir, { backend, strict: opts.strict, tokenizer: true });
  try {
    await quantizeModel(model, opts.quantization);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** Save a quantized model as transformers would: model.safetensors with the bitsandbytes keys, and config.json. */
export async function saveQuantizedPretrained(model: PreTrainedModel, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const config = quantizedConfigJson(model);
  const bytes = serialize(await quantizedStateDict(model), { format: 'pt' });
  await writeFile(join(dir, 'model.safetensors'), bytes);
  const sorted = Object.fromEntries(
    Object.keys(config)
      .sort()
      .map((k) => [k, config[k]]),
  );
  await writeFile(join(dir, 'config.json'), `${JSON.stringify(sorted, null, 2)}\n`);
}

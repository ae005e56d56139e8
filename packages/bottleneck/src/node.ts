/**
 * `@peftjs/bottleneck/node`: AdapterHub adapter folders on disk (Node only; the main entry works on bytes) —
 * what `model.save_adapter(dir, name, use_safetensors=True)` writes and `model.load_adapter(dir)` reads.
 * @packageDocumentation
 */
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Module } from '@peftjs/nn';
import { PeftError, type PeftModel, parseAdapterConfig } from '@peftjs/registry';
import {
  type AdapterHubFiles,
  adapterHubJSON,
  type FromAdapterHubOptions,
  fromAdapterHubFiles,
  loadAdapterHubFiles,
  type ToAdapterHubOptions,
  toAdapterHubFiles,
} from './hub.js';

async function readOptional(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch {
    return null;
  }
}

/** Read an AdapterHub adapter folder. Pickle files (`pytorch_adapter.bin`) are refused, never loaded. */
export async function readAdapterHubDir(dir: string): Promise<AdapterHubFiles> {
  const configBytes = await readOptional(join(dir, 'adapter_config.json'));
  if (!configBytes) throw new PeftError(`no adapter_config.json in '${dir}'`);
  const config = parseAdapterConfig(configBytes.toString('utf8'), join(dir, 'adapter_config.json'));
  const weights = await readOptional(join(dir, 'adapter.safetensors'));
  if (!weights) {
    const files = await readdir(dir).catch(() => [] as string[]);
    if (files.includes('pytorch_adapter.bin'))
      throw new PeftError(
        `'${dir}' holds pytorch_adapter.bin (a pickle file), which is never loaded: re-save it with save_adapter(..., use_safetensors=True)`,
      );
    throw new PeftError(`no adapter.safetensors in '${dir}'`);
  }
  const headConfigBytes = await readOptional(join(dir, 'head_config.json'));
  const headWeights = await readOptional(join(dir, 'model_head.safetensors'));
  if (headConfigBytes && !headWeights) {
    const files = await readdir(dir).catch(() => [] as string[]);
    if (files.includes('pytorch_model_head.bin'))
      throw new PeftError(`'${dir}' holds pytorch_model_head.bin (a pickle file), which is never loaded`);
  }
  return {
    config,
    weights: new Uint8Array(weights),
    headConfig: headConfigBytes
      ? parseAdapterConfig(headConfigBytes.toString('utf8'), join(dir, 'head_config.json'))
      : null,
    headWeights: headWeights ? new Uint8Array(headWeights) : null,
  };
}

/** Write AdapterHub files into `dir`, each atomically (a temporary name, then a rename). */
export async function writeAdapterHubDir(dir: string, files: AdapterHubFiles): Promise<void> {
  await mkdir(dir, { recursive: true });
  const write = async (file: string, data: string | Uint8Array) => {
    const tmp = join(dir, `.${file}.${process.pid}.tmp`);
    await writeFile(tmp, data);
    await rename(tmp, join(dir, file));
  };
  await write('adapter.safetensors', files.weights);
  await write('adapter_config.json', adapterHubJSON(files.config));
  if (files.headConfig && files.headWeights) {
    await write('model_head.safetensors', files.headWeights);
    await write('head_config.json', adapterHubJSON(files.headConfig));
  }
}

/** Save bottleneck adapter `name` as AdapterHub's `save_adapter(dir, name, use_safetensors=True)` does. */
export async function saveAdapterHub(
  peft: PeftModel,
  dir: string,
  name = peft.activeAdapter,
  opts: ToAdapterHubOptions = {},
): Promise<void> {
  await writeAdapterHubDir(dir, await toAdapterHubFiles(peft, name, opts));
}

/** Wrap `model` with the AdapterHub adapter saved in `dir` (`adapters.init(model); model.load_adapter(dir)`). */
export async function loadAdapterHubModel<M extends Module>(
  model: M,
  dir: string,
  opts: FromAdapterHubOptions = {},
): Promise<PeftModel<M>> {
  return fromAdapterHubFiles(model, await readAdapterHubDir(dir), opts);
}

/** Add the AdapterHub adapter saved in `dir` to `peft`; returns its name. */
export async function loadAdapterHub(peft: PeftModel, dir: string, opts: FromAdapterHubOptions = {}): Promise<string> {
  return loadAdapterHubFiles(peft, await readAdapterHubDir(dir), opts);
}

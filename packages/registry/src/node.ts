/**
 * `@peftjs/registry/node`: PEFT adapter folders on disk — `adapter_config.json` + `adapter_model.safetensors`
 * (Node only; the main entry works on bytes).
 * @packageDocumentation
 */
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Module } from '@peftjs/nn';
import { type AdapterFiles, PeftError, PeftModel, type FromPretrainedOptions, parseAdapterConfig } from './index.js';

/** Read a PEFT adapter folder. Pickle files (`adapter_model.bin`) are refused, never loaded. */
export async function readAdapterDir(dir: string): Promise<AdapterFiles> {
  let configText: string;
  try {
    configText = await readFile(join(dir, 'adapter_config.json'), 'utf8');
  } catch {
    throw new PeftError(`no adapter_config.json in '${dir}'`);
  }
  const config = parseAdapterConfig(configText, join(dir, 'adapter_config.json'));
  let weights: Uint8Array;
  try {
    weights = new Uint8Array(await readFile(join(dir, 'adapter_model.safetensors')));
  } catch {
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

/** Write adapter files into `dir` atomically (each file via a temporary name and a rename). */
export async function writeAdapterDir(dir: string, files: AdapterFiles): Promise<void> {
  await mkdir(dir, { recursive: true });
  const write = async (file: string, data: string | Uint8Array) => {
    const tmp = join(dir, `.${file}.${process.pid}.tmp`);
    await writeFile(tmp, data);
    await rename(tmp, join(dir, file));
  };
  await write('adapter_model.safetensors', files.weights);
  await write('adapter_config.json', `${JSON.stringify(files.config, null, 2)}\n`);
}

/**
 * Write the adapters in PEFT's layout (PEFT's `save_pretrained`): `dir/` for the adapter named "default",
 * `dir/<name>/` for the others.
 */
export async function savePeftModel(
  peft: PeftModel,
  dir: string,
  opts: { adapterNames?: string[] } = {},
): Promise<void> {
  for (const name of opts.adapterNames ?? peft.adapterNames) {
    await writeAdapterDir(name === 'default' ? dir : join(dir, name), await peft.toAdapterFiles(name));
  }
}

/** Load the adapter saved in `dir` onto `model` (PEFT's `PeftModel.from_pretrained`). */
export async function loadPeftModel<M extends Module>(
  model: M,
  dir: string,
  opts: FromPretrainedOptions = {},
): Promise<PeftModel<M>> {
  return PeftModel.fromAdapterFiles(model, await readAdapterDir(dir), opts);
}

/** Load another saved adapter from `dir` into `peft` under `name` (PEFT's `load_adapter`). */
export async function loadAdapter(
  peft: PeftModel,
  dir: string,
  name: string,
  opts: Omit<FromPretrainedOptions, 'adapterName'> = {},
): Promise<void> {
  await peft.loadAdapterFiles(await readAdapterDir(dir), { ...opts, adapterName: name });
}

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { PreTrainedModel, Tokenizer } from '@peftjs/models';
import { fromPretrained } from '@peftjs/models/node';
import type { Backend } from '@peftjs/tensor';
import { loadTinyLlama, tinyLlamaDir } from '@peftjs/tiny-llama';
import { CliError } from './errors.js';

/** A base model to fine-tune, with its tokenizer. */
export interface BaseModel {
  model: PreTrainedModel;
  tokenizer: Tokenizer;
  /** What it is, for messages ("tiny LLaMA (embedded)" or the directory). */
  label: string;
  /** Its checkpoint directory. */
  dir: string;
}

/**
 * Load the base model: the embedded tiny LLaMA when `dir` is undefined, else the Hugging Face checkpoint directory
 * `dir` (config.json + model.safetensors + tokenizer.json).
 */
export async function loadBaseModel(dir: string | undefined, backend: Backend): Promise<BaseModel> {
  if (dir === undefined) {
    const { model, tokenizer } = await loadTinyLlama({ backend });
    return { model, tokenizer, label: 'tiny LLaMA (embedded, byte-level, pretrained on Moby Dick)', dir: tinyLlamaDir };
  }
  const st = await stat(dir).catch(() => null);
  if (!st) throw new CliError(`model directory '${dir}' does not exist`);
  if (!st.isDirectory()) throw new CliError(`--model must be a checkpoint directory, '${dir}' is a file`);
  if (!(await stat(join(dir, 'config.json')).catch(() => null)))
    throw new CliError(`model directory '${dir}' has no config.json`);
  let model: PreTrainedModel;
  try {
    model = await fromPretrained(dir, { backend });
  } catch (e) {
    throw new CliError(`cannot load model '${dir}': ${(e as Error).message}`);
  }
  if (!model.tokenizer) {
    model.dispose();
    throw new CliError(`model directory '${dir}' has no tokenizer (tokenizer.json); it is needed to read text`);
  }
  return { model, tokenizer: model.tokenizer, label: dir, dir };
}

/** The total parameter count of a model. */
export function parameterCount(model: PreTrainedModel): number {
  return model.countParameters().total;
}

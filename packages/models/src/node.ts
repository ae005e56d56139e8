/**
 * `@peftjs/models/node`: Hugging Face checkpoint directories on a Node file system.
 *
 * ```ts
 * import { fromPretrained, savePretrained } from '@peftjs/models/node';
 * const model = await fromPretrained('checkpoints/tiny-llama');      // config.json + model.safetensors (or shards)
 * const { logits, loss } = model.forward({ inputIds, attentionMask, labels });
 * await savePretrained(model, 'out/tiny-llama');                       // config.json + model.safetensors
 * ```
 * @packageDocumentation
 */
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withoutInit } from '@peftjs/nn';
import { isPickleCheckpointName } from '@peftjs/safetensors';
import { openCheckpoint, saveFile, saveSharded } from '@peftjs/safetensors/node';
import { type Backend, type Generator, initBackend, type Tensor } from '@peftjs/tensor';
import { createModel, type LoadWeightsReport, loadWeights } from './auto.js';
import { ConfigError, type RawConfig } from './config.js';
import type { PreTrainedModel } from './pretrained.js';
import { ByteTokenizer, HFTokenizer, type Tokenizer, tokenizerFromJson } from './tokenizer.js';

/** Options of {@link fromPretrained}. */
export interface FromPretrainedOptions {
  /** Backend for the weights: a started backend, or a registered backend's name ('cpu', 'webgpu'). Default: active. */
  backend?: Backend | string;
  /** Build this architecture instead of config.json's `architectures[0]`. */
  architecture?: string;
  /** Refuse missing or unexpected checkpoint keys (default false: report them, as Hugging Face warns). */
  strict?: boolean;
  /** Random stream for weights the checkpoint lacks, and for dropout. */
  generator?: Generator;
  /** Also load tokenizer.json / tokenizer_config.json when present (default true). */
  tokenizer?: boolean;
}

async function readJson(path: string): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path}: invalid JSON (${(e as Error).message})`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`${path}: expected a JSON object`);
  return v as Record<string, unknown>;
}

/** The tokenizer saved in `dir` (tokenizer.json, with tokenizer_config.json if present), or null if there is none. */
export async function loadTokenizer(dir: string): Promise<Tokenizer | null> {
  const config = (await readJson(join(dir, 'tokenizer_config.json'))) ?? {};
  const json = await readJson(join(dir, 'tokenizer.json'));
  if (!json && config.peftjs_tokenizer !== 'byte') return null;
  return tokenizerFromJson(json, config);
}

/** Write `tokenizer` into `dir` as tokenizer.json + tokenizer_config.json. */
export async function saveTokenizer(tokenizer: Tokenizer, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  let json: Record<string, unknown>;
  let config: Record<string, unknown>;
  if (tokenizer instanceof ByteTokenizer) {
    json = tokenizer.toTokenizerJson();
    config = tokenizer.toTokenizerConfig();
  } else if (tokenizer instanceof HFTokenizer) {
    json = tokenizer.tokenizerJson;
    config = tokenizer.tokenizerConfig;
  } else {
    throw new Error('saveTokenizer: only ByteTokenizer and HFTokenizer can be saved');
  }
  await writeFile(join(dir, 'tokenizer.json'), `${JSON.stringify(json, null, 2)}\n`);
  await writeFile(join(dir, 'tokenizer_config.json'), `${JSON.stringify(config, null, 2)}\n`);
}

/**
 * Load a Hugging Face checkpoint directory: config.json, the weights (`model.safetensors`, or a sharded
 * `model.safetensors.index.json`), and tokenizer.json if present. The model comes back in eval mode (dropout off),
 * as from transformers; `model.loadReport` says what was missing, unexpected, ignored or renamed.
 *
 * Pickle checkpoints (`pytorch_model.bin`, …) are refused: they can run code when loaded. Convert them to
 * safetensors first.
 */
export async function fromPretrained<M extends PreTrainedModel = PreTrainedModel>(
  dir: string,
  opts: FromPretrainedOptions = {},
): Promise<M & { loadReport: LoadWeightsReport }> {
  const st = await stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new Error(`fromPretrained: '${dir}' is not a directory`);
  const config = await readJson(join(dir, 'config.json'));
  if (!config) throw new ConfigError(`fromPretrained: no config.json in '${dir}'`);
  const entries = await readdir(dir);
  if (!entries.some((f) => f.endsWith('.safetensors') || f.endsWith('.safetensors.index.json'))) {
    const pickles = entries.filter(isPickleCheckpointName);
    if (pickles.length) {
      throw new Error(
        `fromPretrained: '${dir}' holds only pickle checkpoints (${pickles.join(', ')}), which are refused because ` +
          'loading pickle can run arbitrary code. Convert them to safetensors (in Python: ' +
          '`model.save_pretrained(dir, safe_serialization=True)`) and load that.',
      );
    }
    throw new Error(`fromPretrained: no model.safetensors or model.safetensors.index.json in '${dir}'`);
  }
  const backend = typeof opts.backend === 'string' ? await initBackend(opts.backend) : opts.backend;
  const model = withoutInit(() =>
    createModel(config as RawConfig, { architecture: opts.architecture, backend, generator: opts.generator }),
  );
  try {
    const reader = await openCheckpoint(dir);
    try {
      model.loadReport = await loadWeights(model, reader, { strict: opts.strict, backend });
    } finally {
      await reader.close();
    }
    if (opts.tokenizer ?? true) model.tokenizer = await loadTokenizer(dir);
  } catch (e) {
    model.dispose();
    throw e;
  }
  model.eval();
  return model as M & { loadReport: LoadWeightsReport };
}

/** Options of {@link savePretrained}. */
export interface SavePretrainedOptions {
  /** Split the weights into shards of at most this many bytes, with a model.safetensors.index.json. */
  maxShardSize?: number;
}

/**
 * Save `model` as a Hugging Face checkpoint directory: config.json and model.safetensors (or shards plus
 * model.safetensors.index.json), with `{"format": "pt"}` metadata as transformers writes. Tied weights are stored once
 * (under their first name, e.g. `transformer.wte.weight`), as transformers does. The model's tokenizer, if any, is
 * saved too.
 */
export async function savePretrained(
  model: PreTrainedModel,
  dir: string,
  opts: SavePretrainedOptions = {},
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const weights: Record<string, Tensor> = {};
  const seen = new Set<Tensor>();
  for (const [k, t] of Object.entries(model.stateDict())) {
    if (seen.has(t)) continue;
    seen.add(t);
    weights[k] = t;
  }
  const metadata = { format: 'pt' };
  if (opts.maxShardSize !== undefined) {
    await rm(join(dir, 'model.safetensors'), { force: true });
    await saveSharded(dir, weights, { maxShardSize: opts.maxShardSize, metadata });
  } else {
    await rm(join(dir, 'model.safetensors.index.json'), { force: true });
    await saveFile(join(dir, 'model.safetensors'), weights, metadata);
  }
  const config = model.configJson();
  const sorted = Object.fromEntries(
    Object.keys(config)
      .sort()
      .map((k) => [k, config[k]]),
  );
  await writeFile(join(dir, 'config.json'), `${JSON.stringify(sorted, null, 2)}\n`);
  if (model.tokenizer) await saveTokenizer(model.tokenizer, dir);
}

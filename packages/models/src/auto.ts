import { type LoadStateDictReport, StateDictError, type TensorLike } from '@peftjs/nn';
import { defaultTargetDType, loadTensors, type TensorReader } from '@peftjs/safetensors';
import type { Backend, Tensor } from '@peftjs/tensor';
import { BertForSequenceClassification } from './bert.js';
import { type ArchitectureName, type RawConfig, resolveArchitecture } from './config.js';
import { GPT2LMHeadModel } from './gpt2.js';
import { LlamaForCausalLM } from './llama.js';
import type { ModelOptions, PreTrainedModel } from './pretrained.js';

/** The model class for each supported architecture name. */
export const MODEL_CLASSES: {
  readonly [K in ArchitectureName]: new (
    config: RawConfig,
    opts?: ModelOptions,
  ) => PreTrainedModel;
} = {
  LlamaForCausalLM,
  BertForSequenceClassification,
  GPT2LMHeadModel,
};

/**
 * Build the model a config.json describes, with fresh weights: `architecture` overrides the config's
 * `architectures[0]` (e.g. a `BertForMaskedLM` checkpoint used as `BertForSequenceClassification`).
 */
export function createModel(config: RawConfig, opts: ModelOptions & { architecture?: string } = {}): PreTrainedModel {
  const arch = resolveArchitecture(config, opts.architecture);
  return new MODEL_CLASSES[arch](config, opts);
}

/** What {@link loadWeights} did, beyond the state-dict report. */
export interface LoadWeightsReport extends LoadStateDictReport {
  /** Checkpoint keys skipped on purpose (derived buffers older versions saved, e.g. `embeddings.position_ids`). */
  ignoredKeys: string[];
  /** Checkpoint keys loaded under another name (a bare base-model checkpoint, TF-era `gamma`/`beta`), old → new. */
  renamedKeys: Record<string, string>;
}

/** Options of {@link loadWeights}. */
export interface LoadWeightsOptions {
  /**
   * Refuse missing and unexpected keys (default false: as Hugging Face, missing weights keep a fresh
   * initialisation and unexpected ones are skipped; both are reported). Shape mismatches always throw.
   */
  strict?: boolean;
  /** Backend to load the tensors onto (the active one otherwise). */
  backend?: Backend;
}

/**
 * Load a checkpoint (any {@link TensorReader}: one safetensors file or a sharded checkpoint) into `model`. Keys are
 * matched exactly; a checkpoint of the bare base model (keys without `model.` / `bert.` / `transformer.`) is mapped
 * under the model's base prefix. Everything is checked from the headers before any tensor is read; only the tensors
 * the model uses are read. Weights the checkpoint lacks are drawn fresh from their initialisers.
 */
export async function loadWeights(
  model: PreTrainedModel,
  reader: TensorReader,
  opts: LoadWeightsOptions = {},
): Promise<LoadWeightsReport> {
  const wanted = new Set(Object.keys(model.stateDict()));
  const prefix = `${model.basePrefix}.`;
  const ignoredKeys: string[] = [];
  const renamedKeys: Record<string, string> = {};
  const extra: string[] = [];
  const sourceOf = new Map<string, string>(); // model key → checkpoint key
  const candidates = (k: string): string[] => {
    const legacy = k.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
    return [...new Set([k, legacy, prefix + k, prefix + legacy])];
  };
  for (const name of reader.names()) {
    const target = candidates(name).find((k) => wanted.has(k) && !sourceOf.has(k));
    if (target !== undefined) {
      sourceOf.set(target, name);
      if (target !== name) renamedKeys[name] = target;
    } else if (model.ignoredCheckpointKeys.some((re) => re.test(name))) {
      ignoredKeys.push(name);
    } else {
      extra.push(name);
    }
  }
  const headers: Record<string, TensorLike> = {};
  for (const [key, name] of sourceOf) {
    const info = reader.info(name);
    const dtype = defaultTargetDType(info.dtype);
    if (dtype === undefined) throw new Error(`checkpoint tensor '${name}' has unsupported dtype ${info.dtype}`);
    headers[key] = { shape: info.shape, dtype };
  }
  const checked = model.checkStateDict(headers);
  const report: LoadWeightsReport = {
    missingKeys: checked.missingKeys,
    unexpectedKeys: [...extra].sort(),
    mismatched: checked.mismatched,
    ignoredKeys,
    renamedKeys,
  };
  if (report.mismatched.length || (opts.strict && (report.missingKeys.length || report.unexpectedKeys.length))) {
    throw new StateDictError(report);
  }
  const loaded = await loadTensors(reader, { names: [...sourceOf.values()], backend: opts.backend });
  const dict: Record<string, Tensor> = {};
  for (const [key, name] of sourceOf) dict[key] = loaded[name];
  try {
    model.loadStateDict(dict, { strict: false });
  } finally {
    for (const t of Object.values(loaded)) t.dispose();
  }
  if (report.missingKeys.length) model.initParameters(report.missingKeys);
  return report;
}

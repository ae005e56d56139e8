import { type Backend, Generator, getBackend, randomBitsAt, type Tensor, tensor } from '@peftjs/tensor';

/** Token ids of one sequence. */
export type TokenSequence = readonly number[] | Int32Array;

/**
 * One training example: token ids and, optionally, per-token labels (same length; -100 = no loss there) or one
 * sequence-level `label` (classification). Without either, the labels are the input ids (causal LM).
 */
export interface TokenExample {
  inputIds: TokenSequence;
  labels?: TokenSequence;
  label?: number;
}

/** A dataset: examples, or bare token-id sequences (their own labels). */
export type TokenDataset = readonly (TokenExample | TokenSequence)[];

/** A collated batch. The tensors belong to the batch: {@link disposeBatch} frees them. */
export interface Batch {
  /** i32 [B, T], padded with `padId`. */
  inputIds: Tensor;
  /** i32 [B, T]: 1 on tokens, 0 on padding. */
  attentionMask: Tensor;
  /** i32 [B, T] (token labels, -100 on padding) or i32 [B] (sequence labels). */
  labels: Tensor;
  /** Number of examples. */
  size: number;
  /** Non-padding input tokens. */
  tokens: number;
  /**
   * Positions that carry a loss: label tokens that are not -100 after the causal shift (labels[:, 1:]), or the
   * batch size for sequence labels.
   */
  targets: number;
}

/** The example form of a dataset entry. */
export function toExample(e: TokenExample | TokenSequence): TokenExample {
  return ArrayBuffer.isView(e) || Array.isArray(e) ? { inputIds: e as TokenSequence } : (e as TokenExample);
}

export interface ChunkOptions {
  /** Start of each chunk relative to the previous one (default `seqLen`: no overlap). */
  stride?: number;
  /** Keep a last chunk shorter than `seqLen` (it is padded by {@link collate}; default false, as group_texts). */
  keepLast?: boolean;
}

/** Cut one long token stream into sequences of `seqLen` tokens (Hugging Face's `group_texts`). */
export function chunkTokens(ids: TokenSequence, seqLen: number, opts: ChunkOptions = {}): TokenExample[] {
  if (!Number.isInteger(seqLen) || seqLen < 1)
    throw new RangeError(`chunkTokens: seqLen must be a positive integer, got ${seqLen}`);
  const stride = opts.stride ?? seqLen;
  if (!Number.isInteger(stride) || stride < 1)
    throw new RangeError(`chunkTokens: stride must be a positive integer, got ${stride}`);
  const out: TokenExample[] = [];
  for (let at = 0; at < ids.length; at += stride) {
    const end = Math.min(at + seqLen, ids.length);
    if (end - at < seqLen && !opts.keepLast) break;
    out.push({ inputIds: Int32Array.from(ids.slice(at, end) as ArrayLike<number>) });
    if (end === ids.length) break;
  }
  return out;
}

export interface CollateOptions {
  /** Padding token id (default 0). Padding is masked out and labelled -100 whatever its id. */
  padId?: number;
  /** Pad on the right (default) or the left. */
  padSide?: 'right' | 'left';
  /** Pad (or truncate) every sequence to this length; default: the longest in the batch. */
  length?: number;
  /** Backend to create the tensors on (the active one by default). */
  backend?: Backend;
}

/** Stack examples into a padded {@link Batch} with an attention mask and labels (-100 on padding). */
export function collate(examples: TokenDataset, opts: CollateOptions = {}): Batch {
  if (examples.length === 0) throw new Error('collate: no examples');
  const ex = examples.map(toExample);
  const padId = opts.padId ?? 0;
  const left = opts.padSide === 'left';
  const seqLabels = ex.map((e) => e.label !== undefined);
  if (seqLabels.some((s) => s !== seqLabels[0]))
    throw new Error('collate: mix of examples with and without a sequence label');
  const t = opts.length ?? Math.max(...ex.map((e) => e.inputIds.length));
  if (t < 1) throw new Error('collate: empty sequences');
  const b = ex.length;
  const ids = new Int32Array(b * t).fill(padId);
  const mask = new Int32Array(b * t);
  const labels = seqLabels[0] ? new Int32Array(b) : new Int32Array(b * t).fill(-100);
  let tokens = 0;
  let targets = 0;
  ex.forEach((e, i) => {
    const n = Math.min(e.inputIds.length, t);
    if (e.labels && e.labels.length !== e.inputIds.length) {
      throw new Error(`collate: example ${i} has ${e.inputIds.length} input ids but ${e.labels.length} labels`);
    }
    const off = i * t + (left ? t - n : 0);
    for (let j = 0; j < n; j++) {
      ids[off + j] = e.inputIds[j];
      mask[off + j] = 1;
    }
    tokens += n;
    if (seqLabels[0]) {
      labels[i] = e.label!;
      targets++;
    } else {
      const src = e.labels ?? e.inputIds;
      for (let j = 0; j < n; j++) labels[off + j] = src[j];
    }
  });
  if (!seqLabels[0]) {
    for (let i = 0; i < b; i++) for (let j = 1; j < t; j++) if (labels[i * t + j] !== -100) targets++;
  }
  const backend = opts.backend ?? getBackend();
  return {
    inputIds: tensor(ids, [b, t], { dtype: 'i32', backend }),
    attentionMask: tensor(mask, [b, t], { dtype: 'i32', backend }),
    labels: seqLabels[0]
      ? tensor(labels, [b], { dtype: 'i32', backend })
      : tensor(labels, [b, t], { dtype: 'i32', backend }),
    size: b,
    tokens,
    targets,
  };
}

/** Free a batch's tensors. */
export function disposeBatch(batch: Batch): void {
  batch.inputIds.dispose();
  batch.attentionMask.dispose();
  batch.labels.dispose();
}

/**
 * The order of `n` examples in `epoch` for `seed`: a Fisher–Yates shuffle driven by the counter-based generator,
 * a pure function of (seed, epoch, n). Resuming needs only the epoch and the position in it.
 */
export function shuffledOrder(n: number, seed: number, epoch: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const base = new Generator(seed).key;
  // a stream of its own, apart from the default generator's counters under the same seed
  const key: [number, number] = [randomBitsAt(base, 2 ** 52 + 2 * epoch), randomBitsAt(base, 2 ** 52 + 2 * epoch + 1)];
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor((randomBitsAt(key, i) / 4294967296) * (i + 1));
    const tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
  return order;
}

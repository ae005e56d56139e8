import { dispose, noGrad, reshape, slice, type Tensor, tensor, tidy, uniformAt } from '@peftjs/tensor';
import type { CausalLMInputs, KeyValue } from './common.js';

/**
 * What {@link generate} drives: a causal LM's forward — a model from this package, or a `PeftModel` (whose forward
 * applies its adapter: tuner layers, or a prompt method's virtual tokens / prefix at the first step).
 */
export interface GenerationModel {
  forward(inputs: CausalLMInputs): { logits: Tensor; pastKeyValues?: unknown };
}

/** Options of {@link generate}. */
export interface GenerateOptions {
  /** Tokens to add to each row (default 20). */
  maxNewTokens?: number;
  /** 0 (default): greedy (argmax). Above 0: sample from softmax(logits / temperature). */
  temperature?: number;
  /** Sampling: keep only the k most likely tokens (0 or absent: all). */
  topK?: number;
  /** Sampling: keep the smallest set of most likely tokens whose probability reaches p (1 or absent: all). */
  topP?: number;
  /** Seed of the sampling stream (default 0); the same seed gives the same tokens. */
  seed?: number;
  /** Token id(s) that end a row; the row stops after emitting one. */
  eos?: number | readonly number[];
  /**
   * Reuse every layer's keys/values between steps (default true). False recomputes the whole sequence each step
   * (the reference the cache is checked against).
   */
  useCache?: boolean;
}

/**
 * Autoregressive decoding (Hugging Face's `generate` for decoder-only models, greedy or sampled in the order
 * temperature → top-k → top-p). `prompt` is one row of token ids or several rows of equal length. Returns every
 * row's tokens: the prompt followed by what was generated, ending at the first `eos` when one was emitted.
 *
 * With the cache, the first call runs the whole prompt with `useCache` and later calls pass only the new token and
 * the returned `pastKeyValues`; a prompt method's forward hook injects its prompt or prefix at that first call.
 * Runs without gradients; put the model in eval mode first (dropout).
 */
export async function generate(
  model: GenerationModel,
  prompt: readonly number[] | readonly (readonly number[])[],
  opts: GenerateOptions = {},
): Promise<number[][]> {
  const rows = (Array.isArray(prompt[0]) ? prompt : [prompt]) as readonly (readonly number[])[];
  const len = rows[0]?.length ?? 0;
  if (rows.length === 0 || len === 0) throw new RangeError('generate: the prompt needs at least one token');
  if (rows.some((r) => r.length !== len)) throw new RangeError('generate: every prompt row must have the same length');
  if (rows.some((r) => r.some((t) => !Number.isInteger(t) || t < 0)))
    throw new RangeError('generate: token ids must be non-negative integers');
  const maxNew = opts.maxNewTokens ?? 20;
  if (!Number.isInteger(maxNew) || maxNew < 0)
    throw new RangeError(`generate: maxNewTokens must be a non-negative integer, got ${maxNew}`);
  const temperature = opts.temperature ?? 0;
  const topK = opts.topK ?? 0;
  const topP = opts.topP ?? 1;
  if (!(temperature >= 0)) throw new RangeError(`generate: temperature must be >= 0, got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) throw new RangeError(`generate: topK must be a non-negative integer`);
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`generate: topP must be in (0, 1], got ${topP}`);
  const eos = new Set(opts.eos === undefined ? [] : typeof opts.eos === 'number' ? [opts.eos] : opts.eos);
  const useCache = opts.useCache ?? true;
  const backend = firstBackend(model);
  const key: [number, number] = [(opts.seed ?? 0) >>> 0, 0x9e3779b9];
  let counter = 0;

  const seqs = rows.map((r) => [...r]);
  const done = seqs.map(() => false);
  const batch = seqs.length;
  let cache: KeyValue[] | null = null;
  try {
    for (let step = 0; step < maxNew && done.some((d) => !d); step++) {
      const feed = cache ? seqs.map((s) => [s[s.length - 1]]) : seqs;
      const t = feed[0].length;
      const { last, next } = noGrad(() =>
        tidy(() => {
          const inputIds = tensor(Int32Array.from(feed.flat()), [batch, t], { dtype: 'i32', backend });
          const out = model.forward({ inputIds, ...(useCache ? { useCache: true, pastKeyValues: cache } : {}) });
          const [, n, v] = out.logits.shape;
          const lastLogits = reshape(slice(out.logits, [0, n - 1, 0], [batch, 1, v]), [batch, v]);
          const pkv = useCache ? out.pastKeyValues : undefined;
          if (useCache && !Array.isArray(pkv))
            throw new Error('generate: the model returned no pastKeyValues for useCache');
          return { last: lastLogits, next: (pkv as KeyValue[] | undefined) ?? null };
        }),
      );
      if (cache) dispose(cache);
      cache = next;
      const logits = (await last.data()) as Float32Array;
      last.dispose();
      const vocab = logits.length / batch;
      for (let b = 0; b < batch; b++) {
        const row = logits.subarray(b * vocab, (b + 1) * vocab);
        // Finished rows keep receiving a token (the batch moves together); it is dropped below.
        const token = temperature === 0 ? argmax(row) : sample(row, temperature, topK, topP, uniformAt(key, counter++));
        if (!done[b]) {
          seqs[b].push(token);
          if (eos.has(token)) done[b] = true;
        } else seqs[b].push(-1);
      }
    }
  } finally {
    if (cache) dispose(cache);
  }
  return seqs.map((s) => s.filter((t) => t >= 0));
}

function firstBackend(model: GenerationModel) {
  const params = (model as { parameters?: () => Tensor[] }).parameters?.();
  return params?.[0]?.backend;
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/** One draw from softmax(row / temperature) restricted by top-k then top-p, using the uniform number `u`. */
function sample(row: Float32Array, temperature: number, topK: number, topP: number, u: number): number {
  const order = Array.from(row.keys()).sort((a, b) => row[b] - row[a] || a - b);
  let keepN = topK > 0 ? Math.min(topK, order.length) : order.length;
  const max = row[order[0]];
  const probs = new Float64Array(keepN);
  let total = 0;
  for (let i = 0; i < keepN; i++) total += probs[i] = Math.exp((row[order[i]] - max) / temperature);
  if (topP < 1) {
    // Hugging Face keeps tokens while the cumulative probability before them is below top_p (at least one).
    let cum = 0;
    let n = 0;
    while (n < keepN && (n === 0 || cum < topP)) cum += probs[n++] / total;
    keepN = n;
    total = 0;
    for (let i = 0; i < keepN; i++) total += probs[i];
  }
  let acc = 0;
  const target = u * total;
  for (let i = 0; i < keepN; i++) {
    acc += probs[i];
    if (target < acc) return order[i];
  }
  return order[keepN - 1];
}

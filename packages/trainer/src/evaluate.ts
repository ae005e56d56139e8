import type { Module } from '@peftjs/nn';
import type { PeftModel } from '@peftjs/registry';
import {
  argmax,
  cast,
  concat,
  crossEntropy,
  equal,
  full,
  mul,
  noGrad,
  notEqual,
  slice,
  sum,
  type Tensor,
  tidy,
} from '@peftjs/tensor';
import { type Batch, type CollateOptions, collate, disposeBatch, type TokenDataset } from './data.js';

/** What a model's forward returns (the shape every `@peftjs/models` model has). */
export interface ForwardOutput {
  logits: Tensor;
  loss: Tensor | null;
}

/**
 * Run the model on a batch: `forward({ inputIds, attentionMask, labels })`. For a {@link PeftModel} that is
 * `PeftModel.forward`, the one entry point (methods that change the inputs or add loss terms act there).
 */
export function forwardBatch(model: Module, batch: Batch, withLabels = true): ForwardOutput {
  const target = model as unknown as {
    forward?: (inputs: Record<string, Tensor | null>) => ForwardOutput;
  };
  if (typeof target.forward !== 'function') throw new Error('trainer: the model has no forward(inputs); pass lossFn');
  const out = target.forward({
    inputIds: batch.inputIds,
    attentionMask: batch.attentionMask,
    labels: withLabels ? batch.labels : null,
  });
  if (!out || typeof out !== 'object' || !('logits' in out)) {
    throw new Error('trainer: forward(inputs) must return { logits, loss } (a @peftjs/models model); pass lossFn');
  }
  return out;
}

/**
 * The default training loss: the model's own loss for the batch's labels — for causal LMs Hugging Face's shifted
 * next-token cross-entropy, averaged over targets that are not -100 (padding); for classifiers theirs.
 */
export function defaultLoss(model: Module, batch: Batch): Tensor {
  const out = forwardBatch(model, batch, true);
  if (!out.loss) throw new Error('trainer: the model returned no loss for the labels; pass lossFn');
  return out.loss; // the logits stay alive until the caller's scope ends: the loss's backward needs them
}

/** Sums over one batch that evaluation adds up. */
export interface EvalSums {
  /** Sum of the per-target losses. */
  lossSum: number;
  /** Targets predicted right (argmax). */
  correct: number;
  /** Number of targets. */
  count: number;
}

/** Evaluation results. */
export interface EvalResult {
  /** Mean loss per target token (or per example for sequence labels). */
  loss: number;
  /** exp(loss). */
  perplexity: number;
  /** Fraction of targets whose argmax prediction is right: next-token accuracy, or label accuracy. */
  accuracy: number;
  /** Number of targets (tokens, or examples for sequence labels). */
  tokens: number;
}

/**
 * Default per-batch evaluation: logits from the model's forward, then for token labels [B, T] the causal shift
 * (position t predicts label t+1, -100 ignored), for sequence labels [B] the class logits.
 */
export async function evalBatchSums(model: Module, batch: Batch): Promise<EvalSums> {
  const [lossT, correctT, countT] = noGrad(() =>
    tidy(() => {
      let { logits } = forwardBatch(model, batch, false);
      let targets: Tensor;
      if (logits.rank === 3 && logits.shape[1] > batch.labels.shape[1]) {
        // Methods that prepend virtual tokens put them first (as PEFT does): score only the real positions.
        const [b, l, v] = logits.shape;
        const t = batch.labels.shape[1];
        logits = slice(logits, [0, l - t, 0], [b, t, v]);
      }
      if (batch.labels.rank === 2) {
        const [b, t] = batch.labels.shape;
        const pad = full([b, 1], -100, { dtype: 'i32', backend: batch.labels.backend });
        targets = t > 1 ? concat([slice(batch.labels, [0, 1], [b, t - 1]), pad], 1) : pad;
      } else {
        targets = batch.labels;
      }
      const valid = notEqual(targets, -100);
      const lossSum = crossEntropy(logits, targets, { reduction: 'sum' });
      const hit = mul(cast(equal(argmax(logits, -1), targets), 'f32'), cast(valid, 'f32'));
      return [lossSum, sum(hit), sum(cast(valid, 'f32'))] as const;
    }),
  );
  try {
    return { lossSum: await lossT.item(), correct: await correctT.item(), count: await countT.item() };
  } finally {
    lossT.dispose();
    correctT.dispose();
    countT.dispose();
  }
}

/** Options of {@link evaluate}. */
export interface EvaluateOptions extends Omit<CollateOptions, 'length'> {
  /** Examples per batch (default 8). */
  batchSize?: number;
  /** Evaluate only the first this many batches. */
  maxBatches?: number;
  /** Per-batch sums instead of {@link evalBatchSums}. */
  evalFn?: (model: Module, batch: Batch) => EvalSums | Promise<EvalSums>;
}

/**
 * Mean loss, perplexity and accuracy of `model` on `data`, in order, in eval mode (dropout off) without
 * gradients. The model's training mode is restored afterwards.
 */
export async function evaluate(model: Module, data: TokenDataset, opts: EvaluateOptions = {}): Promise<EvalResult> {
  const bs = opts.batchSize ?? 8;
  if (!Number.isInteger(bs) || bs < 1)
    throw new RangeError(`evaluate: batchSize must be a positive integer, got ${bs}`);
  const backend = opts.backend ?? model.parameters()[0]?.backend;
  const fn = opts.evalFn ?? evalBatchSums;
  const wasTraining = model.training;
  model.eval();
  let lossSum = 0;
  let correct = 0;
  let count = 0;
  try {
    const nBatches = Math.min(Math.ceil(data.length / bs), opts.maxBatches ?? Number.POSITIVE_INFINITY);
    for (let i = 0; i < nBatches; i++) {
      const batch = collate(data.slice(i * bs, (i + 1) * bs), { padId: opts.padId, padSide: opts.padSide, backend });
      try {
        const s = await fn(model, batch);
        lossSum += s.lossSum;
        correct += s.correct;
        count += s.count;
      } finally {
        disposeBatch(batch);
      }
    }
  } finally {
    model.train(wasTraining);
  }
  const loss = count > 0 ? lossSum / count : Number.NaN;
  return { loss, perplexity: Math.exp(loss), accuracy: count > 0 ? correct / count : Number.NaN, tokens: count };
}

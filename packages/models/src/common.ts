import {
  abs,
  add,
  composite,
  concat,
  crossEntropy,
  exp,
  full,
  log,
  maximum,
  mean,
  mul,
  notEqual,
  reshape,
  slice,
  square,
  sub,
  type Tensor,
} from '@peftjs/tensor';

/** One layer's cached keys and values, [batch, kv_heads, past_len, head_dim] each (Hugging Face's cache layout). */
export interface KeyValue {
  key: Tensor;
  value: Tensor;
}

/** Inputs every model accepts. Tensors are not consumed: the caller keeps ownership. */
export interface ModelInputs {
  /** Token ids, i32 [batch, seq]. Either this or `inputsEmbeds`. */
  inputIds?: Tensor | null;
  /** Token embeddings [batch, seq, hidden] instead of ids (prompt tuning prepends virtual tokens this way). */
  inputsEmbeds?: Tensor | null;
  /**
   * Hugging Face `attention_mask`, [batch, past + seq], non-zero = attend (i32, f32 or bool). Absent: attend to
   * everything (within the causal limit for decoders).
   */
  attentionMask?: Tensor | null;
  /** Targets for the loss (see the model's own inputs type for their form); no loss without them. */
  labels?: Tensor | null;
}

/** Inputs of the causal language models. */
export interface CausalLMInputs extends ModelInputs {
  /** Next-token targets, i32 [batch, seq] (the model shifts them); -100 = ignore. */
  labels?: Tensor | null;
  /**
   * Per-layer past keys/values to attend to before the sequence (prefix tuning's virtual tokens). Positions of the
   * sequence then start at the past length, as in Hugging Face.
   */
  pastKeyValues?: readonly KeyValue[] | null;
  /**
   * Return every layer's keys/values (past and new) as `pastKeyValues` of the output, for the next decoding step.
   * Those tensors are the caller's to free.
   */
  useCache?: boolean;
}

/** Inputs of the sequence classifiers. */
export interface SequenceClassificationInputs extends ModelInputs {
  /** BERT segment ids, i32 [batch, seq]; zeros when absent. */
  tokenTypeIds?: Tensor | null;
  /**
   * Per-layer past keys/values attended to before the sequence (prefix tuning); positions then start at the past
   * length, as in Hugging Face's `BertModel`.
   */
  pastKeyValues?: readonly KeyValue[] | null;
  /**
   * Targets: i32 [batch] class ids (single-label), f32 [batch] (regression, num_labels = 1) or f32
   * [batch, num_labels] multi-hot (multi-label).
   */
  labels?: Tensor | null;
}

/** What a model's forward returns. */
export interface ModelOutput {
  /** [batch, seq, vocab] for language models, [batch, num_labels] for classifiers. */
  logits: Tensor;
  /** The loss for `labels` (a scalar), or null without labels. */
  loss: Tensor | null;
  /** With `useCache`: every layer's keys/values including this call's, to pass as the next `pastKeyValues`. */
  pastKeyValues?: KeyValue[];
}

/** The sequence shape of the inputs, checking that exactly one of ids / embeddings is given. */
export function inputShape(inputs: ModelInputs, hidden: number): { batch: number; seq: number } {
  const { inputIds, inputsEmbeds } = inputs;
  if ((inputIds ? 1 : 0) + (inputsEmbeds ? 1 : 0) !== 1) {
    throw new Error('forward: pass exactly one of inputIds and inputsEmbeds');
  }
  if (inputIds) {
    if (inputIds.rank !== 2)
      throw new Error(`forward: inputIds must be [batch, seq], got [${inputIds.shape.join(', ')}]`);
    if (inputIds.dtype !== 'i32') throw new Error(`forward: inputIds must be i32, got ${inputIds.dtype}`);
    return { batch: inputIds.shape[0], seq: inputIds.shape[1] };
  }
  const e = inputsEmbeds!;
  if (e.rank !== 3 || e.shape[2] !== hidden) {
    throw new Error(`forward: inputsEmbeds must be [batch, seq, ${hidden}], got [${e.shape.join(', ')}]`);
  }
  return { batch: e.shape[0], seq: e.shape[1] };
}

/**
 * The key-padding mask for attention: Hugging Face's `attention_mask` [batch, keys] (non-zero = keep) as a bool
 * tensor [batch, 1, 1, keys] that broadcasts over heads and queries. Null when no mask is given.
 */
export function keyPaddingMask(attentionMask: Tensor | null | undefined, batch: number, keys: number): Tensor | null {
  if (!attentionMask) return null;
  if (attentionMask.rank !== 2 || attentionMask.shape[0] !== batch || attentionMask.shape[1] !== keys) {
    throw new Error(
      `forward: attentionMask must be [batch, past + seq] = [${batch}, ${keys}], got [${attentionMask.shape.join(', ')}]`,
    );
  }
  return composite(() => {
    const keep = attentionMask.dtype === 'bool' ? attentionMask.detach() : notEqual(attentionMask, 0);
    return reshape(keep, [batch, 1, 1, keys]);
  });
}

/**
 * Hugging Face's causal-LM loss: logits [B, T, V] predict labels shifted left by one (the last position has no
 * target), cross-entropy averaged over targets that are not `ignoreIndex` (-100).
 */
export function causalLMLoss(logits: Tensor, labels: Tensor, ignoreIndex = -100): Tensor {
  const [b, t] = logits.shape;
  if (labels.rank !== 2 || labels.shape[0] !== b || labels.shape[1] !== t) {
    throw new Error(`causalLMLoss: labels must be [${b}, ${t}], got [${labels.shape.join(', ')}]`);
  }
  if (labels.dtype !== 'i32') throw new Error(`causalLMLoss: labels must be i32, got ${labels.dtype}`);
  return composite(() => {
    const pad = full([b, 1], ignoreIndex, { dtype: 'i32', backend: labels.backend });
    const shifted = t > 1 ? concat([slice(labels, [0, 1], [b, t - 1]), pad], 1) : pad;
    return crossEntropy(logits, shifted, { ignoreIndex });
  });
}

/** The loss Hugging Face's `*ForSequenceClassification` models pick for a problem type. */
export type ProblemType = 'regression' | 'single_label_classification' | 'multi_label_classification';

/**
 * Hugging Face's sequence-classification loss. The problem type is `problemType` if set, else: regression when
 * `numLabels` is 1, single-label when labels are integers, multi-label otherwise.
 * - regression: MSE (logits and labels squeezed when numLabels is 1),
 * - single-label: cross-entropy over the classes (mean; -100 ignored),
 * - multi-label: binary cross-entropy with logits, mean over all entries.
 */
export function sequenceClassificationLoss(
  logits: Tensor,
  labels: Tensor,
  numLabels: number,
  problemType: ProblemType | null = null,
): Tensor {
  const type: ProblemType =
    problemType ??
    (numLabels === 1
      ? 'regression'
      : labels.dtype === 'i32'
        ? 'single_label_classification'
        : 'multi_label_classification');
  const batch = logits.shape[0];
  return composite(() => {
    switch (type) {
      case 'single_label_classification':
        if (labels.dtype !== 'i32')
          throw new Error(`single-label classification needs i32 labels, got ${labels.dtype}`);
        return crossEntropy(reshape(logits, [-1, numLabels]), reshape(labels, [-1]));
      case 'regression': {
        if (labels.dtype !== 'f32') throw new Error(`regression needs f32 labels, got ${labels.dtype}`);
        const l = numLabels === 1 ? reshape(logits, [batch]) : logits;
        const y = numLabels === 1 ? reshape(labels, [batch]) : labels;
        return mean(square(sub(l, y)));
      }
      case 'multi_label_classification': {
        if (labels.dtype !== 'f32') throw new Error(`multi-label classification needs f32 labels, got ${labels.dtype}`);
        // max(x, 0) − x·y + log(1 + exp(−|x|)): PyTorch's stable BCEWithLogits
        const x = logits;
        return mean(add(sub(maximum(x, 0), mul(x, labels)), log(add(exp(mul(abs(x), -1)), 1))));
      }
    }
  });
}

import { availableMethods, LLAMA_LINEAR_TARGETS } from './methods.js';

/** The kind of task being fine-tuned. */
export type RecommendTask =
  | 'causal-lm'
  | 'seq-cls'
  | 'token-cls'
  | 'seq2seq-lm'
  | 'question-ans'
  | 'feature-extraction';

/** What {@link recommend} needs to know. */
export interface RecommendOptions {
  /** Parameters of the base model (e.g. 1.1e9). */
  modelParams: number;
  /** Memory available for training (bytes). Unknown: assume enough for float32 weights plus LoRA training. */
  memoryBytes?: number;
  task: RecommendTask;
  /** Training examples (sequences / chunks) available. */
  numExamples: number;
  /** What to favour: adapter quality (may pick DoRA), a balance (default), or the fewest trainable parameters. */
  priority?: 'quality' | 'balanced' | 'efficiency';
  /** Hugging Face `model_type` of the base model, for target-module names (default "llama"). */
  modelType?: string;
  /** Methods to choose from (default: {@link availableMethods}, i.e. what is registered right now). */
  available?: string[];
}

/** Starting training hyperparameters to go with the recommended config. */
export interface RecommendedTraining {
  lr: number;
  epochs: number;
  schedule: 'constant' | 'linear' | 'cosine';
  /** Fraction of the steps used for linear warm-up. */
  warmupRatio: number;
  weightDecay: number;
}

/** The recommendation: a method name, a PEFT config to start from, training settings, and why. */
export interface Recommendation {
  method: string;
  /** A PEFT config object (adapter_config.json fields) ready for `getPeftModel`. */
  config: Record<string, unknown>;
  training: RecommendedTraining;
  /** One line per rule that fired, in the order applied. */
  reasons: string[];
  /** Notes on methods considered and not chosen, and on risks (e.g. the model may not fit). */
  warnings: string[];
}

const TASK_TYPES: Record<RecommendTask, string> = {
  'causal-lm': 'CAUSAL_LM',
  'seq-cls': 'SEQ_CLS',
  'token-cls': 'TOKEN_CLS',
  'seq2seq-lm': 'SEQ_2_SEQ_LM',
  'question-ans': 'QUESTION_ANS',
  'feature-extraction': 'FEATURE_EXTRACTION',
};

/** Tasks accepted by {@link recommend}. */
export const RECOMMEND_TASKS = Object.keys(TASK_TYPES) as RecommendTask[];

/** Attention query/value projections by model_type (the original LoRA paper's targets). */
const QV_TARGETS: Record<string, string[]> = {
  llama: ['q_proj', 'v_proj'],
  mistral: ['q_proj', 'v_proj'],
  gpt2: ['c_attn'],
  bert: ['query', 'value'],
};

/** Bytes per parameter of float32 weights. */
const F32 = 4;
/** Full fine-tuning with AdamW in float32: weights + gradients + two moments. */
const FULL_FT_BYTES_PER_PARAM = 16;
/** LoRA training: frozen float32 weights plus activations, adapter weights and optimizer state (rule of thumb). */
const LORA_BYTES_PER_PARAM = F32 * 1.5;
/** DoRA additionally materialises each adapted weight (W + s·BA) and its norms in the forward and backward pass. */
const DORA_BYTES_PER_PARAM = F32 * 2.5;
/** QLoRA: 4-bit weights (≈0.55 byte per parameter with quantisation constants) plus the same LoRA overhead. */
const QLORA_BYTES_PER_PARAM = 0.55 + F32 * 0.5;

const fmtBytes = (b: number) => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)} GiB` : `${(b / 2 ** 20).toFixed(0)} MiB`);
const fmtCount = (n: number) => n.toLocaleString('en-US');
const fmtParams = (p: number) =>
  p >= 1e9
    ? `${(p / 1e9).toFixed(1)}B`
    : p >= 1e6
      ? `${(p / 1e6).toFixed(1)}M`
      : p >= 1e3
        ? `${(p / 1e3).toFixed(0)}K`
        : `${p}`;

/**
 * Recommend a PEFT method and starting hyperparameters, in the spirit of Hugging Face's `recommend_peft_method`.
 * The rules, applied in order (each one that fires adds a line to `reasons`):
 *
 * 1. **Memory.** Float32 LoRA training needs about 6 bytes per base parameter (weights + activations + adapter
 *    state). When `memoryBytes` is below that, QLoRA (4-bit base, ≈2.6 bytes/param) is recommended if a `qlora`
 *    method is registered; otherwise LoRA with a warning that the model may not fit.
 * 2. **Quality vs budget.** DoRA (about 10 bytes/param, slower steps) is chosen when `priority` is "quality" and the
 *    memory allows it, or when the data set is small (< 1,000 examples, where DoRA's gains over LoRA at low rank
 *    are largest) and the model is small enough that the extra compute is cheap (< 1B parameters) — only if DoRA is
 *    registered. Otherwise LoRA.
 * 3. **Rank and targets by data size.** < 1,000 examples: r 4 (< 200) or 8 on the attention query/value
 *    projections only (fewer parameters, less overfitting). < 10,000: r 16 on every linear layer. More: r 32 on
 *    every linear layer (r 16 for models ≥ 7B, where all-linear r 16 already trains tens of millions of parameters).
 *    Models under 10M parameters get at most r 8 (a larger rank is a large share of their hidden width).
 *    `priority: "efficiency"` halves the rank (min 4) and keeps q/v only.
 * 4. **alpha = 2·r**, dropout 0.1 under 1,000 examples (regularise), else 0.05.
 * 5. **Task.** `task_type` is set (SEQ_CLS / TOKEN_CLS train the new head in full via `modules_to_save`).
 * 6. **Learning rate and epochs.** lr 3e-3 under 10M parameters (measured on the tiny LLaMA), 1e-3 under 100M, 5e-4 under 1B, 2e-4 above (the usual QLoRA
 *    value); DoRA uses the same lr. Epochs: 5 under 200 examples, 3 under 10,000, else 1. Cosine schedule, 3% warm-up.
 */
export function recommend(opts: RecommendOptions): Recommendation {
  const { modelParams, memoryBytes, task, numExamples } = opts;
  if (!(Number.isFinite(modelParams) && modelParams > 0))
    throw new Error(`recommend: modelParams must be a positive number, got ${modelParams}`);
  if (!(Number.isFinite(numExamples) && numExamples >= 0))
    throw new Error(`recommend: numExamples must be a non-negative number, got ${numExamples}`);
  if (memoryBytes !== undefined && !(Number.isFinite(memoryBytes) && memoryBytes > 0)) {
    throw new Error(`recommend: memoryBytes must be a positive number, got ${memoryBytes}`);
  }
  const taskType = TASK_TYPES[task];
  if (!taskType) throw new Error(`recommend: unknown task '${task}' (one of ${RECOMMEND_TASKS.join(', ')})`);
  const priority = opts.priority ?? 'balanced';
  const available = opts.available ?? availableMethods();
  const modelType = opts.modelType ?? 'llama';
  const reasons: string[] = [];
  const warnings: string[] = [];
  const has = (m: string) => available.includes(m);
  if (!has('lora')) {
    throw new Error(
      `recommend: no LoRA-family method is registered (available: ${available.join(', ') || 'none'}); import '@peftjs/lora'`,
    );
  }

  // 1. Memory.
  const need = {
    lora: modelParams * LORA_BYTES_PER_PARAM,
    dora: modelParams * DORA_BYTES_PER_PARAM,
    qlora: modelParams * QLORA_BYTES_PER_PARAM,
  };
  let method = 'lora';
  let memoryStarved = false;
  if (memoryBytes !== undefined) {
    if (memoryBytes < need.lora) {
      memoryStarved = true;
      if (has('qlora')) {
        method = 'qlora';
        reasons.push(
          `memory ${fmtBytes(memoryBytes)} < ~${fmtBytes(need.lora)} for float32 LoRA on ${fmtParams(modelParams)} params: QLoRA (4-bit base, ~${fmtBytes(need.qlora)})`,
        );
      } else {
        reasons.push(
          `memory ${fmtBytes(memoryBytes)} is tight for ${fmtParams(modelParams)} params: LoRA (the leanest method available; QLoRA is not available in this install)`,
        );
        warnings.push(
          `float32 LoRA training needs ~${fmtBytes(need.lora)}; with ${fmtBytes(memoryBytes)} the model may not fit — use a shorter sequence length and batch size 1, or a smaller model`,
        );
      }
    } else if (modelParams * FULL_FT_BYTES_PER_PARAM <= memoryBytes && numExamples >= 100_000) {
      warnings.push(
        `full fine-tuning would fit (~${fmtBytes(modelParams * FULL_FT_BYTES_PER_PARAM)}) and with ${fmtCount(numExamples)} examples may beat any adapter`,
      );
    }
  }

  // 2. Quality vs budget: DoRA?
  if (!memoryStarved) {
    const doraFits = memoryBytes === undefined || memoryBytes >= need.dora;
    const smallData = numExamples < 1000;
    const wantDora = priority === 'quality' || (priority === 'balanced' && smallData && modelParams < 1e9);
    if (wantDora && has('dora') && doraFits) {
      method = 'dora';
      reasons.push(
        priority === 'quality'
          ? 'quality first and the memory allows it: DoRA (weight-decomposed LoRA; usually better than LoRA at the same rank, ~1.5–2× slower steps)'
          : `small data (${fmtCount(numExamples)} examples) on a small model: DoRA, whose gains over LoRA are largest at low rank; the extra compute is cheap here`,
      );
    } else {
      if (wantDora && !has('dora'))
        warnings.push('DoRA would suit this case but is not available (import @peftjs/dora)');
      else if (wantDora && !doraFits) warnings.push(`DoRA needs ~${fmtBytes(need.dora)}; not enough memory, so LoRA`);
      reasons.push(
        priority === 'efficiency'
          ? 'efficiency first: LoRA (the fewest trainable parameters and the fastest steps)'
          : 'LoRA: the well-tested default, fast, mergeable into the base weights',
      );
    }
  }

  // 3. Rank and targets.
  let r: number;
  let qvOnly: boolean;
  if (numExamples < 200) {
    r = 4;
    qvOnly = true;
    reasons.push(
      `very small data (${fmtCount(numExamples)} < 200 examples): r 4 on the attention q/v projections only, to limit overfitting`,
    );
  } else if (numExamples < 1000) {
    r = 8;
    qvOnly = true;
    reasons.push(`small data (${fmtCount(numExamples)} < 1,000 examples): r 8 on q/v only`);
  } else if (numExamples < 10_000) {
    r = 16;
    qvOnly = false;
    reasons.push(`medium data (${fmtCount(numExamples)} examples): r 16 on every linear layer`);
  } else {
    r = modelParams >= 7e9 ? 16 : 32;
    qvOnly = false;
    reasons.push(
      `large data (${fmtCount(numExamples)} examples): r ${r} on every linear layer${modelParams >= 7e9 ? ' (16 for a ≥7B model)' : ''}`,
    );
  }
  if (modelParams < 10e6 && r > 8) {
    r = 8;
    reasons.push(
      `tiny model (${fmtParams(modelParams)} params): r capped at 8, already a large share of its hidden width`,
    );
  }
  if (priority === 'efficiency') {
    const before = r;
    r = Math.max(4, r / 2);
    if (!qvOnly || r !== before) reasons.push(`efficiency first: r ${r}, q/v only`);
    qvOnly = true;
  }
  let targets: string[] | string;
  if (qvOnly) {
    targets = QV_TARGETS[modelType] ?? 'all-linear';
    if (!QV_TARGETS[modelType])
      warnings.push(`no known q/v module names for model_type '${modelType}': targeting all linear layers`);
  } else {
    targets = modelType === 'llama' || modelType === 'mistral' ? LLAMA_LINEAR_TARGETS : 'all-linear';
  }

  // 4. alpha, dropout.
  const dropout = numExamples < 1000 ? 0.1 : 0.05;
  reasons.push(
    `lora_alpha = 2·r = ${2 * r}; dropout ${dropout}${numExamples < 1000 ? ' (regularise small data)' : ''}`,
  );

  // 5. Task.
  const config: Record<string, unknown> = {
    peft_type: 'LORA',
    task_type: taskType,
    r,
    lora_alpha: 2 * r,
    lora_dropout: dropout,
    target_modules: targets,
  };
  if (method === 'dora') config.use_dora = true;
  if (task === 'seq-cls' || task === 'token-cls') {
    const head = modelType === 'bert' ? ['classifier'] : ['score', 'classifier'];
    config.modules_to_save = head;
    reasons.push(`${task}: the new classification head trains in full (modules_to_save ${JSON.stringify(head)})`);
  }

  // 6. Training settings.
  const lr = modelParams < 10e6 ? 3e-3 : modelParams < 1e8 ? 1e-3 : modelParams < 1e9 ? 5e-4 : 2e-4;
  const epochs = numExamples < 200 ? 5 : numExamples < 10_000 ? 3 : 1;
  reasons.push(
    `lr ${lr} for a ${fmtParams(modelParams)}-parameter model; ${epochs} epoch${epochs > 1 ? 's' : ''} for ${fmtCount(numExamples)} examples; cosine schedule, 3% warm-up`,
  );
  if (method === 'qlora')
    warnings.push('QLoRA: load the base model quantised to 4 bits; the adapter config is a plain LoRA config');

  return {
    method,
    config,
    training: { lr, epochs, schedule: 'cosine', warmupRatio: 0.03, weightDecay: 0 },
    reasons,
    warnings,
  };
}

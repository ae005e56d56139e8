import { listPresets, type MethodPreset } from '@peftjs/registry';
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
  /** Memory available for training (bytes). Unknown: assume enough for float32 weights plus adapter training. */
  memoryBytes?: number;
  task: RecommendTask;
  /** Training examples (sequences / chunks) available. */
  numExamples: number;
  /** What to favour: adapter quality (a "quality" preset), a balance (default), or the fewest trainable parameters. */
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

/** Attention query/value projections by model_type (the classic low-rank adaptation targets). */
const QV_TARGETS: Record<string, string[]> = {
  llama: ['q_proj', 'v_proj'],
  mistral: ['q_proj', 'v_proj'],
  gpt2: ['c_attn'],
  bert: ['query', 'value'],
};

/** Full fine-tuning with AdamW in float32: weights + gradients + two moments. */
const FULL_FT_BYTES_PER_PARAM = 16;

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
 * It names no method itself: it chooses among the installed methods' presets by the role each one declares
 * (`MethodPreset.recommend` in `@peftjs/registry`). The rules, applied in order (each one that fires adds a line to
 * `reasons`):
 *
 * 1. **Memory.** Each preset states its rule-of-thumb training memory per base parameter. When `memoryBytes` is
 *    below what the `"default"` preset needs, the leanest `"low-memory"` preset that fits is chosen (or the leanest
 *    one, with a warning); with none installed, the default with a warning that the model may not fit.
 * 2. **Quality vs budget.** The `"quality"` preset is chosen when `priority` is "quality" and the memory allows it,
 *    or when the data set is small (< 1,000 examples, where the gains of weight-decomposed adapters are largest)
 *    and the model is small enough that the extra compute is cheap (< 1B parameters). Otherwise the default.
 * 3. **Rank and targets by data size.** < 1,000 examples: r 4 (< 200) or 8 on the attention query/value
 *    projections only (fewer parameters, less overfitting). < 10,000: r 16 on every linear layer. More: r 32 on
 *    every linear layer (r 16 for models ≥ 7B). Models under 10M parameters get at most r 8 (a larger rank is a
 *    large share of their hidden width). `priority: "efficiency"` halves the rank (min 4) and keeps q/v only.
 * 4. **alpha = 2·r**, dropout 0.1 under 1,000 examples (regularise), else 0.05.
 * 5. **Task.** `task_type` is set (SEQ_CLS / TOKEN_CLS train the new head in full via `modules_to_save`).
 * 6. **Learning rate and epochs.** The preset's own suggestion if it has one, else lr 3e-3 under 10M parameters
 *    (measured on the tiny LLaMA), 1e-3 under 100M, 5e-4 under 1B, 2e-4 above. Epochs: 5 under 200 examples, 3
 *    under 10,000, else 1. Cosine schedule, 3% warm-up.
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
  const candidates = listPresets().filter((p) => p.recommend && available.includes(p.name));
  const byRole = (role: string) =>
    candidates
      .filter((p) => p.recommend!.role === role)
      .sort((a, b) => a.recommend!.bytesPerParam - b.recommend!.bytesPerParam);
  const fallback = byRole('default')[0];
  if (!fallback) {
    throw new Error(
      `recommend: no installed method offers a default recommendation (available: ${available.join(', ') || 'none'}); import a method package`,
    );
  }
  const need = (p: MethodPreset) => modelParams * p.recommend!.bytesPerParam;
  const fits = (p: MethodPreset) => memoryBytes === undefined || memoryBytes >= need(p);

  // 1. Memory.
  let chosen = fallback;
  let memoryStarved = false;
  if (memoryBytes !== undefined) {
    if (!fits(fallback)) {
      memoryStarved = true;
      const lean = byRole('low-memory');
      const pick = lean.find(fits) ?? lean[0];
      if (pick) {
        chosen = pick;
        reasons.push(
          `memory ${fmtBytes(memoryBytes)} < ~${fmtBytes(need(fallback))} for ${fallback.name} on ${fmtParams(modelParams)} params: ${pick.name} (~${fmtBytes(need(pick))}; ${pick.recommend!.reason})`,
        );
        if (!fits(pick)) warnings.push(`${pick.name} needs ~${fmtBytes(need(pick))}; the model may still not fit`);
      } else {
        reasons.push(
          `memory ${fmtBytes(memoryBytes)} is tight for ${fmtParams(modelParams)} params: ${fallback.name} (no low-memory method is installed)`,
        );
        warnings.push(
          `${fallback.name} training needs ~${fmtBytes(need(fallback))}; with ${fmtBytes(memoryBytes)} the model may not fit — use a shorter sequence length and batch size 1, or a smaller model`,
        );
      }
    } else if (modelParams * FULL_FT_BYTES_PER_PARAM <= memoryBytes && numExamples >= 100_000) {
      warnings.push(
        `full fine-tuning would fit (~${fmtBytes(modelParams * FULL_FT_BYTES_PER_PARAM)}) and with ${fmtCount(numExamples)} examples may beat any adapter`,
      );
    }
  }

  // 2. Quality vs budget.
  if (!memoryStarved) {
    const quality = byRole('quality')[0];
    const smallData = numExamples < 1000;
    const wantQuality = priority === 'quality' || (priority === 'balanced' && smallData && modelParams < 1e9);
    if (wantQuality && quality && fits(quality)) {
      chosen = quality;
      reasons.push(
        priority === 'quality'
          ? `quality first and the memory allows it: ${quality.name} (${quality.recommend!.reason})`
          : `small data (${fmtCount(numExamples)} examples) on a small model: ${quality.name} (${quality.recommend!.reason}); the extra compute is cheap here`,
      );
    } else {
      if (wantQuality && !quality) warnings.push('a quality-first method would suit this case, but none is installed');
      else if (wantQuality && quality)
        warnings.push(`${quality.name} needs ~${fmtBytes(need(quality))}; not enough memory, so ${fallback.name}`);
      reasons.push(
        priority === 'efficiency'
          ? `efficiency first: ${fallback.name} (${fallback.recommend!.reason})`
          : `${fallback.name}: ${fallback.recommend!.reason}`,
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
  reasons.push(`alpha = 2·r = ${2 * r}; dropout ${dropout}${numExamples < 1000 ? ' (regularise small data)' : ''}`);

  // 5. Task.
  let modulesToSave: string[] | undefined;
  if (task === 'seq-cls' || task === 'token-cls') {
    modulesToSave = modelType === 'bert' ? ['classifier'] : ['score', 'classifier'];
    reasons.push(
      `${task}: the new classification head trains in full (modules_to_save ${JSON.stringify(modulesToSave)})`,
    );
  }
  const config = chosen.config({
    r,
    alpha: 2 * r,
    dropout,
    targetModules: targets,
    taskType,
    modulesToSave,
    modelType,
  });

  // 6. Training settings.
  const lr =
    chosen.learningRate?.(modelParams) ??
    (modelParams < 10e6 ? 3e-3 : modelParams < 1e8 ? 1e-3 : modelParams < 1e9 ? 5e-4 : 2e-4);
  const epochs = numExamples < 200 ? 5 : numExamples < 10_000 ? 3 : 1;
  reasons.push(
    `lr ${lr} for a ${fmtParams(modelParams)}-parameter model; ${epochs} epoch${epochs > 1 ? 's' : ''} for ${fmtCount(numExamples)} examples; cosine schedule, 3% warm-up`,
  );
  if (chosen.prepareModel)
    warnings.push(`${chosen.name} changes the base model before the adapter is added (see its package)`);

  return {
    method: chosen.name,
    config,
    training: { lr, epochs, schedule: 'cosine', warmupRatio: 0.03, weightDecay: 0 },
    reasons,
    warnings,
  };
}

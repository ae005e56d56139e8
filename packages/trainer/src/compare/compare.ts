import type { Module } from '@peftjs/nn';
import { getPeftModel, type PeftModel } from '@peftjs/registry';
import { manualSeed } from '@peftjs/tensor';
import type { TokenDataset } from '../data.js';
import { Trainer, type TrainerCallback, type TrainerOptions } from '../trainer.js';
import { type MethodSpec, methodLabel, prepareModelFor } from './methods.js';
import type { ComparisonResult, EvalMetrics, MethodResult } from './types.js';

/** A progress event of {@link compareMethods}. */
export interface CompareProgress {
  /** Method label, index (0-based) and count. */
  method: string;
  index: number;
  count: number;
  phase: 'baseline' | 'start' | 'step' | 'eval' | 'done';
  step?: number;
  loss?: number;
  /** On "step": the step's learning rate, tokens and seconds. */
  lr?: number;
  tokens?: number;
  seconds?: number;
  /** Set on "done": the method's result. */
  result?: MethodResult;
}

/** The trainer options shared by every method (the model and data are supplied by {@link compareMethods}). */
export type CompareTrainerOptions = Omit<TrainerOptions, 'model' | 'train' | 'eval'>;

/** Options of {@link compareMethods}. */
export interface CompareOptions<M extends Module = Module> {
  /** A fresh base model each call (every method starts from the same untouched weights). */
  makeModel: () => Promise<M> | M;
  /** The methods to train, in order: a label and a PEFT config each. */
  methods: MethodSpec[];
  train: TokenDataset;
  eval: TokenDataset;
  /** The same budget for every method: optimizer, lr, schedule, batch size, steps, seed, … */
  trainerOptions: CompareTrainerOptions;
  /** Measure the base model on `eval` first (default true). */
  baseline?: boolean;
  onProgress?: (e: CompareProgress) => void;
}

/** JSON-safe copy of the options that define the budget (functions and objects like callbacks are dropped). */
function budgetOf(opts: CompareTrainerOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(opts)) {
    if (v === undefined || typeof v === 'function') continue;
    if (['callbacks', 'lossFn', 'progress', 'logFile', 'checkpointDir', 'resume'].includes(k)) continue;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) continue;
    out[k] = v;
  }
  return out;
}

function metrics(e: { loss: number; perplexity?: number; accuracy?: number | null }): EvalMetrics {
  const acc = e.accuracy ?? null;
  return {
    loss: e.loss,
    perplexity: e.perplexity ?? Math.exp(e.loss),
    accuracy: acc !== null && Number.isFinite(acc) ? acc : null,
  };
}

/**
 * Train each PEFT method on the same data with the same budget and seed, each from a fresh base model, and
 * measure what it costs (trainable parameters, time, throughput, peak memory) and what it achieves (held-out
 * loss, perplexity, accuracy, the loss curve). Methods run one after another; each model is disposed after use.
 *
 * ```ts
 * const result = await compareMethods({
 *   makeModel: () => loadTinyLlama().then((t) => t.model),
 *   methods: availableMethods().map((name) => ({ name, config: defaultMethodConfig(name, { r: 8 }) })),
 *   train, eval: heldOut, trainerOptions: { optimizer: 'adamw', lr: 1e-3, batchSize: 8, maxSteps: 100, seed: 0 },
 * });
 * console.log(formatComparisonTable(result));
 * ```
 */
export async function compareMethods<M extends Module>(opts: CompareOptions<M>): Promise<ComparisonResult> {
  if (opts.methods.length === 0) throw new Error('compareMethods: no methods to compare');
  const names = new Set<string>();
  for (const m of opts.methods) {
    if (!m.config || typeof m.config.peft_type !== 'string')
      throw new Error(`compareMethods: method '${m.name}' has no peft_type in its config`);
    if (names.has(m.name)) throw new Error(`compareMethods: method name '${m.name}' appears twice`);
    names.add(m.name);
  }
  if (opts.train.length === 0) throw new Error('compareMethods: the training set is empty');
  if (opts.eval.length === 0) throw new Error('compareMethods: the evaluation set is empty');
  const seed = opts.trainerOptions.seed ?? 42;
  const count = opts.methods.length;
  const progress = opts.onProgress ?? (() => {});
  const results: MethodResult[] = [];
  let baseline: EvalMetrics | null = null;

  for (const [index, spec] of opts.methods.entries()) {
    const name = spec.name || methodLabel(spec.config);
    let base = await opts.makeModel();
    let peft: PeftModel<M> | null = null;
    try {
      base = await prepareModelFor(name, base);
      manualSeed(seed);
      peft = getPeftModel(base, spec.config);
      const { trainable, total } = peft.countTrainable();
      const lossCurve: { step: number; loss: number }[] = [];
      const userCallbacks: TrainerCallback[] = opts.trainerOptions.callbacks ?? [];
      const trainer = new Trainer({
        ...opts.trainerOptions,
        ...(spec.lr !== undefined ? { lr: spec.lr } : {}),
        model: peft,
        train: opts.train,
        eval: opts.eval,
        callbacks: [
          ...userCallbacks,
          {
            onStepEnd: (e) =>
              progress({
                method: name,
                index,
                count,
                phase: 'step',
                step: e.step,
                loss: e.loss,
                lr: e.lr,
                tokens: e.tokens,
                seconds: e.seconds,
              }),
            onEval: (e) => progress({ method: name, index, count, phase: 'eval', step: e.step, loss: e.loss }),
          },
        ],
      });
      if (index === 0 && (opts.baseline ?? true)) {
        progress({ method: name, index, count, phase: 'baseline' });
        const activePeft = peft;
        baseline = metrics(await activePeft.disableAdapter(() => trainer.evaluate(opts.eval)));
      }
      progress({ method: name, index, count, phase: 'start' });
      const run = await trainer.train();
      for (const h of run.history) lossCurve.push({ step: h.step, loss: h.loss });
      const evalCurve = run.evals.map((e) => ({ step: e.step, loss: e.loss }));
      const lastEval = run.evals.at(-1);
      const final =
        lastEval && lastEval.step === run.steps ? metrics(lastEval) : metrics(await trainer.evaluate(opts.eval));
      if (!lastEval || lastEval.step !== run.steps) evalCurve.push({ step: run.steps, loss: final.loss });
      const adapterFileBytes = (await peft.toAdapterFiles()).weights.byteLength;
      // what the frozen base holds in backend memory (packed bytes for a quantized base)
      const baseWeightBytes = peft.parameters().reduce((n, p) => (p.requiresGrad ? n : n + p.bytes), 0);
      const result: MethodResult = {
        name,
        peftType: String(spec.config.peft_type),
        config: spec.config,
        lr: spec.lr ?? opts.trainerOptions.lr,
        trainableParams: trainable,
        totalParams: total,
        trainablePercent: (100 * trainable) / total,
        adapterFileBytes,
        baseWeightBytes,
        steps: run.steps,
        trainSeconds: run.trainSeconds,
        tokensPerSecond: run.tokensPerSecond,
        peakTensorBytes: run.peakTensorBytes,
        peakRssBytes: run.peakRssBytes,
        final,
        lossCurve,
        evalCurve,
        stoppedReason: String(run.stoppedReason),
      };
      results.push(result);
      progress({ method: name, index, count, phase: 'done', result });
    } finally {
      (peft ?? base).dispose();
    }
  }
  return { baseline, methods: results, budget: budgetOf(opts.trainerOptions), createdAt: new Date().toISOString() };
}

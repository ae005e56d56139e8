import type { Module } from '@peftjs/nn';
import { PeftModel } from '@peftjs/registry';
import { loadTensors, saveTensors } from '@peftjs/safetensors';
import {
  type Backend,
  concat,
  Generator,
  getDefaultGenerator,
  hasDeviceStep,
  manualSeed,
  memory,
  mul,
  reshape,
  stepStats,
  type Tensor,
  tensor,
  tidy,
} from '@peftjs/tensor';
import { type CheckpointStore, latestStoredCheckpoint } from './checkpoint-store.js';
import { type Batch, collate, disposeBatch, shuffledOrder, type TokenDataset } from './data.js';
import { defaultLoss, type EvalResult, type EvalSums, evaluate } from './evaluate.js';
import { AdamW } from './optim/adamw.js';
import { clipGradsTo, gradSumSquares, normOfSumSquares } from './optim/clip.js';
import type { Optimizer } from './optim/optimizer.js';
import { type ParamRef, trainableParams } from './optim/params.js';
import { scheduleByName } from './optim/schedule.js';
import { SGD } from './optim/sgd.js';
import { type PendingStep, PendingSteps } from './pending-steps.js';
import type { ProgressSink } from './progress.js';

/** One optimizer step as reported in {@link TrainResult.history}, the log and `onStepEnd`. */
export interface StepInfo {
  /** 1-based step number (optimizer updates taken, skipped ones included). */
  step: number;
  /** Epoch (0-based) the step's batches came from. */
  epoch: number;
  /** Mean loss of the step (over all its micro-batches, as one big batch). */
  loss: number;
  /** Learning rate used. */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm?: number;
  /** Non-padding input tokens in the step. */
  tokens: number;
  /** Seconds the step took on the host (a step that waits for a read of the device includes the wait). */
  seconds: number;
  /** True when the step was skipped for a non-finite loss or gradient norm (`onNonFinite: 'skip'`). */
  skipped?: boolean;
}

/** Hooks into the loop; each may return a promise, which is awaited. */
export interface TrainerCallback {
  /**
   * Called for every step, in order, with its numbers. By default right after the step (the trainer then reads
   * the loss and gradient norm back every step); with {@link TrainerCallback.batched}, whenever the trainer reads
   * them anyway: every `logEvery` steps, at evaluations, checkpoints and the end.
   */
  onStepEnd?(info: StepInfo): void | Promise<void>;
  /** Alias of {@link TrainerCallback.onStepEnd} (called right after it). */
  onStep?(info: StepInfo): void | Promise<void>;
  /** Take step numbers in batches (see {@link TrainerCallback.onStepEnd}): no device read per step for this callback. */
  batched?: boolean;
  onEval?(info: EvalResult & { step: number }): void | Promise<void>;
  onCheckpoint?(path: string, step: number): void | Promise<void>;
  onEnd?(result: TrainResult): void | Promise<void>;
}

export interface TrainerOptions {
  /** Usually a PeftModel; only parameters with `requiresGrad` are trained. */
  model: Module;
  train: TokenDataset;
  eval?: TokenDataset;
  /**
   * Loss of one batch (a scalar, mean over the batch's targets). Default: the model's own loss for the labels
   * (Hugging Face's shifted causal-LM loss, -100 on padding ignored).
   */
  lossFn?: (model: Module, batch: Batch) => Tensor;
  /** Per-batch evaluation sums (default: loss and argmax accuracy from the model's logits). */
  evalFn?: (model: Module, batch: Batch) => EvalSums | Promise<EvalSums>;
  /** Default 'adamw'. */
  optimizer?: 'adamw' | 'sgd';
  /** Base learning rate (default 1e-3 for AdamW, 1e-2 for SGD). */
  lr?: number;
  /** Default: 0.01 for AdamW (torch's default), 0 for SGD. */
  weightDecay?: number;
  betas?: [number, number];
  eps?: number;
  /** SGD momentum (default 0). */
  momentum?: number;
  /** SGD dampening (default 0). */
  dampening?: number;
  /** SGD Nesterov momentum (default false). */
  nesterov?: boolean;
  /** Learning-rate schedule (default 'constant'), with linear warmup over `warmupSteps` (default 0). */
  schedule?: 'constant' | 'linear' | 'cosine';
  warmupSteps?: number;
  /** Examples per micro-batch (default 8). */
  batchSize?: number;
  /** Micro-batches per optimizer step (default 1). */
  gradAccumSteps?: number;
  /** Total optimizer steps; overrides `epochs`. */
  maxSteps?: number;
  /** Passes over the training data when `maxSteps` is unset (default 1). */
  epochs?: number;
  /** Global gradient-norm clip (default 1.0, as transformers); null: no clipping (the norm is still computed). */
  maxGradNorm?: number | null;
  /** Seeds the data order and the default random generator dropout draws from (default 42). */
  seed?: number;
  /** Shuffle the training data every epoch (default true). */
  shuffle?: boolean;
  /** Drop a last micro-batch smaller than `batchSize` in each epoch (default false). */
  dropLast?: boolean;
  /** Padding id for collate (default 0). */
  padId?: number;
  /** Evaluate on `eval` every this many steps (and at the end). */
  evalEvery?: number;
  /** Evaluate on at most this many batches. */
  evalBatches?: number;
  /** Eval batch size (default `batchSize`). */
  evalBatchSize?: number;
  /**
   * Where checkpoints go (Node: `@peftjs/trainer/node`'s `checkpointDir` makes a directory store; a page:
   * {@link IndexedDbCheckpointStore}); none without it.
   */
  checkpointStore?: CheckpointStore;
  /** Where a `resume` id is read from (default `checkpointStore`). */
  resumeStore?: CheckpointStore;
  /** Checkpoint every this many steps (default: only at the end); the last step is always checkpointed. */
  checkpointEvery?: number;
  /** Keep the newest this many checkpoints (default 3; Infinity keeps all). */
  keepCheckpoints?: number;
  /** Resume from the newest complete checkpoint in `checkpointStore` (or from the checkpoint id given). */
  resume?: boolean | string;
  /** A non-finite loss or gradient norm: stop with an error (default) or skip the update. */
  onNonFinite?: 'stop' | 'skip';
  /**
   * Read the steps' loss and gradient norm back every this many steps (default 10; 1 is every step). In between,
   * a step is decided on the device where the backend can (clipping, the non-finite check and AdamW, with nothing
   * read back), and its numbers reach the history, the log, the progress display and batched callbacks at the
   * next read. Evaluations, checkpoints and the last step read too; so does every step when a callback is not
   * batched.
   */
  logEvery?: number;
  /** Receives one record per step, eval and event (Node: `logFile` appends them to a JSONL file). */
  log?: (record: Record<string, unknown>) => void | Promise<void>;
  /** A progress display; none by default (Node: `progress: 'auto'` is a terminal bar). */
  progress?: ProgressSink | null | false;
  /** Resident bytes of the process, sampled for `peakRssBytes` (default: Node's RSS where there is one, else 0). */
  residentBytes?: () => number;
  callbacks?: TrainerCallback[];
  /** Stop after the step in progress when this aborts (the result's `stoppedReason` is then `'aborted'`). */
  signal?: AbortSignal;
}

export type StoppedReason = 'completed' | 'non-finite' | 'aborted';

export interface TrainResult {
  /** Steps taken (the final global step). */
  steps: number;
  history: StepInfo[];
  evals: (EvalResult & { step: number })[];
  /** Seconds spent in training steps (over every resumed run). */
  trainSeconds: number;
  /** Non-padding input tokens per second of training. */
  tokensPerSecond: number;
  /** Peak bytes of live tensors (all backends, GPU buffers included), sampled in every micro-batch and step. */
  peakTensorBytes: number;
  /** Peak resident set size of the process (0 where the runtime does not tell it, as in a page). */
  peakRssBytes: number;
  trainableParams: number;
  totalParams: number;
  stoppedReason: StoppedReason;
  /** Step the run resumed from (0 for a fresh run). */
  resumedFrom: number;
  /** The last checkpoint written, if any. */
  lastCheckpoint?: string;
}

/** The process's resident set size where the runtime tells it (Node, Bun, Deno's Node layer), else 0 (pages). */
function processRss(): number {
  const proc = (globalThis as { process?: { memoryUsage?: { rss?: () => number } } }).process;
  return typeof proc?.memoryUsage?.rss === 'function' ? proc.memoryUsage.rss() : 0;
}

/** A non-finite loss or gradient norm stopped training (`onNonFinite: 'stop'`). */
export class NonFiniteError extends Error {
  override readonly name = 'NonFiniteError';
  constructor(
    readonly step: number,
    readonly quantity: 'loss' | 'gradient norm',
    readonly value: number,
    readonly result: TrainResult,
  ) {
    super(
      `training stopped at step ${step}: non-finite ${quantity} (${value}); the update was not applied and no checkpoint was written`,
    );
  }
}

/** A random generator's position, saved in checkpoints so that dropout resumes exactly. */
export interface GeneratorState {
  seed: number;
  counter: number;
}

/** The JSON state of a checkpoint (`trainer_state.json`). */
export interface TrainerState {
  format: 'peftjs-trainer-state';
  version: 1;
  step: number;
  /** Epoch and micro-batch index in it where the next step starts. */
  epoch: number;
  position: number;
  seed: number;
  /** Counter-based generators: the default one (dropout without a generator of its own) and modules' own. */
  generators: { default: GeneratorState; modules: Record<string, GeneratorState> };
  optimizer: { type: 'adamw' | 'sgd'; step: number; lr: number };
  /** Where each trained parameter is stored: [file, key]. */
  params: Record<string, [string, string]>;
  config: { trainSize: number; batchSize: number; gradAccumSteps: number; shuffle: boolean; dropLast: boolean };
  history: StepInfo[];
  evals: (EvalResult & { step: number })[];
  trainSeconds: number;
  tokensSeen: number;
  peakTensorBytes: number;
  peakRssBytes: number;
}

const ADAPTER_WEIGHTS = 'adapter/adapter_model.safetensors';
const PARAMS_FILE = 'trainable_params.safetensors';
const OPTIMIZER_FILE = 'optimizer.safetensors';
const STATE_FILE = 'trainer_state.json';

/**
 * Every distinct {@link Generator} a module of the tree holds (as a property, or in a plain options object), by the
 * first module path that holds it.
 */
function moduleGenerators(model: Module): Map<string, Generator> {
  const seen = new Set<Generator>();
  const out = new Map<string, Generator>();
  for (const [path, m] of model.namedModules()) {
    const visit = (v: unknown, key: string) => {
      if (v instanceof Generator && !seen.has(v)) {
        seen.add(v);
        out.set(`${path}#${key}`, v);
      }
    };
    for (const [k, v] of Object.entries(m)) {
      visit(v, k);
      // one level into plain option objects (e.g. a model's `opts.generator`)
      if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
        for (const [k2, v2] of Object.entries(v)) visit(v2, `${k}.${k2}`);
      }
    }
  }
  return out;
}

/** Most steps left unread before the trainer reads them anyway (bounds the device tensors they hold). */
const MAX_PENDING_STEPS = 64;

/** What the steps of one `train()` call share. */
interface Run {
  st: TrainerState;
  params: ParamRef[];
  optimizer: Optimizer;
  baseLr: number;
  schedule: (step: number) => number;
  lossFn: (model: Module, batch: Batch) => Tensor;
  micro: number;
  backend: Backend | undefined;
  /** Steps are decided on the device (see Trainer.decidesOnDevice). */
  deviceStep: boolean;
  pending: PendingSteps;
  /** The device's cumulative skip count as last read (where the next bias-correction table starts). */
  skipBase: number;
  order: Int32Array | null;
  orderEpoch: number;
  log: (record: Record<string, unknown>) => Promise<void>;
  sample: () => void;
  progress: ProgressSink | null;
  fail: (step: number, quantity: 'loss' | 'gradient norm', value: number) => NonFiniteError;
}

/** The training loop: batches, accumulation, clipping, schedules, evaluation, checkpoints, logs, callbacks. */
export class Trainer {
  readonly opts: TrainerOptions;
  private readonly batchSize: number;
  private readonly accum: number;
  private readonly seed: number;

  constructor(opts: TrainerOptions) {
    this.opts = opts;
    this.batchSize = opts.batchSize ?? 8;
    this.accum = opts.gradAccumSteps ?? 1;
    this.seed = opts.seed ?? 42;
    const posInt = (name: string, v: number | undefined) => {
      if (v !== undefined && !(Number.isInteger(v) && v >= 1))
        throw new RangeError(`Trainer: ${name} must be a positive integer, got ${v}`);
    };
    posInt('batchSize', this.batchSize);
    posInt('gradAccumSteps', this.accum);
    posInt('maxSteps', opts.maxSteps);
    posInt('epochs', opts.epochs);
    posInt('evalEvery', opts.evalEvery);
    posInt('evalBatches', opts.evalBatches);
    posInt('evalBatchSize', opts.evalBatchSize);
    posInt('checkpointEvery', opts.checkpointEvery);
    posInt('logEvery', opts.logEvery);
    if (!Number.isSafeInteger(this.seed))
      throw new RangeError(`Trainer: seed must be a safe integer, got ${this.seed}`);
    if (opts.train.length === 0) throw new Error('Trainer: the training set is empty');
    if (opts.keepCheckpoints !== undefined && !(opts.keepCheckpoints >= 1))
      throw new RangeError('Trainer: keepCheckpoints must be >= 1');
    if (opts.maxGradNorm != null && !(opts.maxGradNorm > 0))
      throw new RangeError(`Trainer: maxGradNorm must be > 0, got ${opts.maxGradNorm}`);
    if (opts.resume && !(opts.resumeStore ?? opts.checkpointStore))
      throw new Error('Trainer: resume needs checkpointStore');
  }

  private get microPerEpoch(): number {
    const n = this.opts.train.length;
    const m = this.opts.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
    if (m === 0) throw new Error(`Trainer: ${n} examples make no batch of ${this.batchSize} with dropLast`);
    return m;
  }

  /** Optimizer steps per epoch (a last step may have fewer micro-batches). */
  get stepsPerEpoch(): number {
    return Math.ceil(this.microPerEpoch / this.accum);
  }

  /** Total optimizer steps of the run. */
  get totalSteps(): number {
    return this.opts.maxSteps ?? (this.opts.epochs ?? 1) * this.stepsPerEpoch;
  }

  private backend(): Backend | undefined {
    return this.opts.model.parameters()[0]?.backend;
  }

  /** Evaluate on `data` (default: the eval set) with the trainer's batch size, padding and evalBatches limit. */
  async evaluate(data?: TokenDataset): Promise<EvalResult> {
    const ds = data ?? this.opts.eval;
    if (!ds) throw new Error('Trainer.evaluate: no dataset (pass one, or set eval in the options)');
    return evaluate(this.opts.model, ds, {
      batchSize: this.opts.evalBatchSize ?? this.batchSize,
      maxBatches: this.opts.evalBatches,
      padId: this.opts.padId,
      evalFn: this.opts.evalFn,
      backend: this.backend(),
    });
  }

  private createOptimizer(params: ParamRef[]): Optimizer {
    const o = this.opts;
    if ((o.optimizer ?? 'adamw') === 'adamw') {
      return new AdamW(params, { lr: o.lr ?? 1e-3, betas: o.betas, eps: o.eps, weightDecay: o.weightDecay });
    }
    if (o.optimizer !== 'sgd') throw new Error(`Trainer: unknown optimizer '${o.optimizer}' (adamw or sgd)`);
    return new SGD(params, {
      lr: o.lr ?? 1e-2,
      momentum: o.momentum,
      dampening: o.dampening,
      weightDecay: o.weightDecay,
      nesterov: o.nesterov,
    });
  }

  /** Run training to `totalSteps` (from the newest checkpoint with `resume`). */
  async train(): Promise<TrainResult> {
    const o = this.opts;
    const model = o.model;
    const params = trainableParams(model);
    if (params.length === 0) throw new Error('Trainer: the model has no parameter with requiresGrad');
    const optimizer = this.createOptimizer(params);
    const baseLr = optimizer.lr;
    const total = this.totalSteps;
    const schedule = scheduleByName(o.schedule ?? 'constant', { warmupSteps: o.warmupSteps ?? 0, totalSteps: total });
    const lossFn = o.lossFn ?? defaultLoss;
    const callbacks = o.callbacks ?? [];
    const micro = this.microPerEpoch;
    const backend = this.backend();
    const counts = model.countParameters();

    const st = this.freshState(baseLr);

    // fresh runs draw dropout masks from a stream seeded by `seed` (transformers' set_seed); resuming restores it
    manualSeed(this.seed);
    let resumedFrom = 0;
    const resumePath = await this.resolveResume();
    if (resumePath) {
      await this.restore(resumePath, st, params, optimizer, backend);
      resumedFrom = st.step;
    }
    const store = o.checkpointStore;
    if (store) await this.prepareStore(store, !!resumePath);

    const log = async (obj: Record<string, unknown>) => {
      if (o.log) await o.log({ time: new Date().toISOString(), ...obj });
    };
    const sample = () => {
      const bytes = memory().bytes;
      if (bytes > st.peakTensorBytes) st.peakTensorBytes = bytes;
      const rss = (o.residentBytes ?? processRss)();
      if (rss > st.peakRssBytes) st.peakRssBytes = rss;
    };
    sample();
    const result = (reason: StoppedReason, lastCheckpoint?: string): TrainResult => ({
      steps: st.step,
      history: st.history,
      evals: st.evals,
      trainSeconds: st.trainSeconds,
      tokensPerSecond: st.trainSeconds > 0 ? st.tokensSeen / st.trainSeconds : 0,
      peakTensorBytes: st.peakTensorBytes,
      peakRssBytes: st.peakRssBytes,
      trainableParams: counts.trainable,
      totalParams: counts.total,
      stoppedReason: reason,
      resumedFrom,
      lastCheckpoint,
    });

    await log({
      event: resumedFrom ? 'resume' : 'start',
      step: st.step,
      totalSteps: total,
      trainableParams: counts.trainable,
      totalParams: counts.total,
      ...(resumePath ? { checkpoint: resumePath } : {}),
    });
    let lastCheckpoint: string | undefined;
    const checkpoint = async () => {
      if (!store) return;
      lastCheckpoint = await this.save(store, st, params, optimizer);
      if (Number.isFinite(o.keepCheckpoints ?? 3)) await store.prune(o.keepCheckpoints ?? 3);
      await log({ event: 'checkpoint', step: st.step, path: lastCheckpoint });
      for (const c of callbacks) await c.onCheckpoint?.(lastCheckpoint, st.step);
    };
    const runEval = async () => {
      if (!o.eval) return;
      const r = { ...(await this.evaluate()), step: st.step };
      sample();
      st.evals.push(r);
      await log({ event: 'eval', ...r });
      for (const c of callbacks) await c.onEval?.(r);
    };

    const progress: ProgressSink | null = o.progress || null;
    progress?.start(total, st.step);
    const run: Run = {
      st,
      params,
      optimizer,
      baseLr,
      schedule,
      lossFn,
      micro,
      backend,
      deviceStep: this.decidesOnDevice(optimizer, backend),
      pending: new PendingSteps(),
      skipBase: 0,
      order: null,
      orderEpoch: -1,
      log,
      sample,
      progress,
      fail: (step, quantity, value) => {
        const r = result('non-finite', lastCheckpoint);
        return new NonFiniteError(step, quantity, value, r);
      },
    };
    model.train();
    try {
      while (st.step < total && !o.signal?.aborted) {
        const t0 = performance.now();
        await this.issueStep(run, t0);
        const last = st.step === total;
        const evalNow = !!o.evalEvery && (st.step % o.evalEvery === 0 || last);
        const checkpointNow = !!store && (last || (!!o.checkpointEvery && st.step % o.checkpointEvery === 0));
        if (evalNow || checkpointNow || last || this.mustRead(run)) await this.settle(run, t0);
        if (evalNow) await runEval();
        if (checkpointNow) await checkpoint();
      }
      await this.settle(run, null);
    } catch (e) {
      if (e instanceof NonFiniteError) for (const c of callbacks) await c.onEnd?.(e.result);
      throw e;
    } finally {
      run.pending.dispose();
      progress?.stop();
      optimizer.zeroGrad();
      optimizer.dispose();
    }
    const r = result(st.step < total ? 'aborted' : 'completed', lastCheckpoint);
    await log({
      event: 'end',
      steps: r.steps,
      trainSeconds: r.trainSeconds,
      tokensPerSecond: r.tokensPerSecond,
      peakTensorBytes: r.peakTensorBytes,
      peakRssBytes: r.peakRssBytes,
    });
    for (const c of callbacks) await c.onEnd?.(r);
    return r;
  }

  /** The state of a run that has taken no step. */
  private freshState(lr: number): TrainerState {
    const o = this.opts;
    return {
      format: 'peftjs-trainer-state',
      version: 1,
      step: 0,
      epoch: 0,
      position: 0,
      seed: this.seed,
      generators: { default: { seed: 0, counter: 0 }, modules: {} },
      optimizer: { type: o.optimizer ?? 'adamw', step: 0, lr },
      params: {},
      config: {
        trainSize: o.train.length,
        batchSize: this.batchSize,
        gradAccumSteps: this.accum,
        shuffle: o.shuffle ?? true,
        dropLast: o.dropLast ?? false,
      },
      history: [],
      evals: [],
      trainSeconds: 0,
      tokensSeen: 0,
      peakTensorBytes: 0,
      peakRssBytes: 0,
    };
  }

  /** Refuse a fresh run into a store that holds another run's checkpoints; clear what a crashed writer left. */
  private async prepareStore(store: CheckpointStore, resumed: boolean): Promise<void> {
    if (!resumed) {
      // a fresh run must not mix its checkpoints with another run's: a later resume could pick the other's newest
      const existing = await store.list();
      if (existing.length) {
        throw new Error(
          `Trainer: ${store.location} already holds checkpoints (newest: step ${existing[existing.length - 1].step}) ` +
            (this.opts.resume
              ? 'but none of them is complete; remove them or use another directory'
              : 'and resume is off; pass resume: true to continue from them, or use another directory'),
        );
      }
    }
    // what a crashed writer left behind (never a published checkpoint)
    await store.clean();
  }

  /**
   * Whether steps are decided on the device (nothing read back per step): AdamW on a backend with the fused
   * kernels, and no method hook that must see each step's clipped gradients on the host.
   */
  private decidesOnDevice(optimizer: Optimizer, backend: Backend | undefined): boolean {
    const model = this.opts.model;
    const hook = model instanceof PeftModel && !!model.method().onTrainStep;
    return optimizer instanceof AdamW && !!backend && hasDeviceStep(backend) && !hook;
  }

  /** Whether the steps issued so far must be read now (a log step, a callback that wants every step, a full queue). */
  private mustRead(run: Run): boolean {
    const o = this.opts;
    const everyStep = (o.callbacks ?? []).some((c) => (c.onStepEnd || c.onStep) && !c.batched);
    const logEvery = o.logEvery ?? 10;
    return everyStep || run.st.step % logEvery === 0 || run.pending.length >= MAX_PENDING_STEPS || !!o.signal?.aborted;
  }

  /** The micro-batches of the next step (up to `gradAccumSteps` from the current epoch), advancing the position. */
  private nextBatches(run: Run): { idx: number[][]; epoch: number } {
    const { st } = run;
    const o = this.opts;
    if (st.position >= run.micro) {
      st.epoch++;
      st.position = 0;
    }
    if (run.orderEpoch !== st.epoch) {
      run.order = st.config.shuffle
        ? shuffledOrder(o.train.length, this.seed, st.epoch)
        : Int32Array.from(o.train.keys());
      run.orderEpoch = st.epoch;
    }
    const idx: number[][] = [];
    while (idx.length < this.accum && st.position < run.micro) {
      const from = st.position * this.batchSize;
      idx.push([...run.order!.subarray(from, Math.min(from + this.batchSize, o.train.length))]);
      st.position++;
    }
    return { idx, epoch: st.epoch };
  }

  /**
   * Forward and backward over the step's micro-batches: gradients accumulate on the parameters, each micro-batch
   * scaled so the step's gradient is that of one big batch (by its share of the loss targets for the default
   * mean-over-targets loss, 1/accum for a custom loss). Returns the losses (f32 [k], on the device) and weights.
   */
  private forwardBackward(run: Run, idx: number[][]): { losses: Tensor; weights: number[]; tokens: number } {
    const o = this.opts;
    const batches = idx.map((ii) =>
      collate(
        ii.map((i) => o.train[i]),
        { padId: o.padId, backend: run.backend },
      ),
    );
    const parts: Tensor[] = [];
    try {
      const targets = batches.reduce((a, b) => a + b.targets, 0);
      const byTargets = !o.lossFn && targets > 0;
      const weights = batches.map((b) => (byTargets ? b.targets / targets : 1 / batches.length));
      batches.forEach((b, i) => {
        const l = tidy(() => {
          const lt = run.lossFn(o.model, b);
          if (lt.size !== 1)
            throw new Error(`Trainer: lossFn must return a scalar, got shape [${lt.shape.join(', ')}]`);
          // a weight of 1 (one micro-batch) scales nothing: x·1 is x, bit for bit, and saves two dispatches
          (weights[i] === 1 ? lt : mul(lt, weights[i])).backward();
          run.sample();
          return reshape(lt.detach(), [1]);
        });
        parts.push(l);
      });
      const losses = parts.length === 1 ? parts[0] : concat(parts);
      if (parts.length > 1) for (const t of parts) t.dispose();
      return { losses, weights, tokens: batches.reduce((a, b) => a + b.tokens, 0) };
    } catch (e) {
      for (const t of parts) t.dispose();
      throw e;
    } finally {
      for (const b of batches) disposeBatch(b);
    }
  }

  /** Run one optimizer step and queue its numbers (read at once when the step is not decided on the device). */
  private async issueStep(run: Run, t0: number): Promise<void> {
    const o = this.opts;
    const { st, optimizer } = run;
    const { idx, epoch } = this.nextBatches(run);
    const lr = run.baseLr * run.schedule(st.step);
    optimizer.lr = lr;
    optimizer.zeroGrad();
    const { losses, weights, tokens } = this.forwardBackward(run, idx);
    const maxNorm = o.maxGradNorm === undefined ? 1.0 : (o.maxGradNorm ?? Number.POSITIVE_INFINITY);
    const sumsq = gradSumSquares(run.params) ?? tensor([0], [1], { backend: run.backend });
    let verdict: PendingStep['verdict'];
    if (run.deviceStep) {
      const adamw = optimizer as AdamW;
      const table = tensor(adamw.biasCorrections(adamw.stepCount + 1, run.pending.length + 1), undefined, {
        backend: run.backend,
      });
      const sticky = (o.onNonFinite ?? 'stop') === 'stop';
      verdict = stepStats(sumsq, losses, table, run.pending.lastStats(), {
        maxNorm,
        sticky,
        skipBase: run.skipBase,
      });
      table.dispose();
      sumsq.dispose();
      adamw.stepControlled(verdict);
      optimizer.zeroGrad();
    } else verdict = await this.stepOnHost(run, losses, weights, sumsq, maxNorm);
    run.sample();
    st.step++;
    const seconds = (performance.now() - t0) / 1000;
    run.pending.push({ step: st.step, epoch, lr, tokens, seconds, weights, losses, verdict });
  }

  /**
   * The host-decided step: read the losses and Σg² (one read), then skip a non-finite step or clip, update and
   * run the method's training-step hook.
   */
  private async stepOnHost(
    run: Run,
    losses: Tensor,
    weights: number[],
    sumsq: Tensor,
    maxNorm: number,
  ): Promise<{ norm: number | undefined; skip: number }> {
    const both = concat([losses, sumsq]);
    sumsq.dispose();
    const values = await both.data();
    both.dispose();
    let loss = 0;
    for (let i = 0; i < weights.length; i++) loss += weights[i] * values[i];
    const norm = normOfSumSquares(values[weights.length]);
    const skip = !Number.isFinite(loss) ? 1 : !Number.isFinite(norm) ? 2 : 0;
    if (skip) {
      run.optimizer.zeroGrad();
      return { norm, skip };
    }
    clipGradsTo(run.params, norm, maxNorm);
    run.optimizer.step();
    // The method's training-step hook (e.g. rank allocation) sees this step's gradients: before zeroGrad.
    const model = this.opts.model;
    if (model instanceof PeftModel) await model.onTrainStep(run.st.step);
    run.optimizer.zeroGrad();
    return { norm, skip };
  }

  /**
   * Read the queued steps (one transfer) and report them in order: history, log, progress, callbacks. A
   * non-finite step stops the run (`onNonFinite: 'stop'`, the default) as step k: the device skipped it and every
   * later step, so the parameters are those after step k − 1. `t0` is the start of the step in progress (its
   * seconds then include the wait for the read).
   */
  private async settle(run: Run, t0: number | null): Promise<void> {
    if (!run.pending.length) return;
    const o = this.opts;
    const { st } = run;
    const settled = await run.pending.settle();
    if (t0 !== null) settled[settled.length - 1].pending.seconds = (performance.now() - t0) / 1000;
    let skipped = 0;
    for (const s of settled) {
      const p = s.pending;
      if (run.deviceStep) {
        if (s.skip) skipped++;
        run.skipBase = s.skips;
      }
      if (s.skip === 1 || s.skip === 2) {
        const quantity = s.skip === 1 ? 'loss' : 'gradient norm';
        const value = s.skip === 1 ? s.loss : s.gradNorm!;
        const action = o.onNonFinite ?? 'stop';
        await run.log({ event: 'non-finite', step: p.step, quantity, value: String(value), action });
        if (action === 'stop') {
          st.step = p.step - 1;
          throw run.fail(p.step, quantity, value);
        }
      }
      st.trainSeconds += p.seconds;
      st.tokensSeen += p.tokens;
      const info: StepInfo = {
        step: p.step,
        epoch: p.epoch,
        loss: s.loss,
        lr: p.lr,
        tokens: p.tokens,
        seconds: p.seconds,
      };
      if (s.gradNorm !== undefined) info.gradNorm = s.gradNorm;
      if (s.skip) info.skipped = true;
      st.history.push(info);
      await run.log({ event: 'step', ...info });
      run.progress?.update(p.step, s.loss, st.trainSeconds > 0 ? st.tokensSeen / st.trainSeconds : 0);
      for (const c of o.callbacks ?? []) {
        await c.onStepEnd?.(info);
        await c.onStep?.(info);
      }
    }
    if (skipped) (run.optimizer as AdamW).uncount(skipped);
  }

  private async resolveResume(): Promise<string | null> {
    const o = this.opts;
    if (!o.resume) return null;
    if (typeof o.resume === 'string') {
      if (!(await this.resumeStore().verify(o.resume)))
        throw new Error(`Trainer: '${o.resume}' is not a complete checkpoint`);
      return o.resume;
    }
    const latest = await latestStoredCheckpoint(o.checkpointStore!);
    return latest?.path ?? null;
  }

  private resumeStore(): CheckpointStore {
    return (this.opts.resumeStore ?? this.opts.checkpointStore)!;
  }

  /** Write the checkpoint of the current state (atomically); returns its id. */
  private async save(
    store: CheckpointStore,
    st: TrainerState,
    params: ParamRef[],
    optimizer: Optimizer,
  ): Promise<string> {
    const o = this.opts;
    const model = o.model;
    const files: Record<string, Uint8Array | string> = {};
    const byTensor = new Map<Tensor, string>();
    if (model instanceof PeftModel) {
      const adapter = await model.toAdapterFiles();
      files[ADAPTER_WEIGHTS] = adapter.weights;
      files['adapter/adapter_config.json'] = `${JSON.stringify(adapter.config, null, 2)}\n`;
      for (const [k, t] of Object.entries(model.adapterStateDict())) byTensor.set(t, k);
    }
    st.params = {};
    const extra: Record<string, Tensor> = {};
    for (const p of params) {
      const key = byTensor.get(p.get());
      if (key) st.params[p.name] = [ADAPTER_WEIGHTS, key];
      else {
        extra[p.name] = p.get();
        st.params[p.name] = [PARAMS_FILE, p.name];
      }
    }
    if (Object.keys(extra).length) files[PARAMS_FILE] = await saveTensors(extra, { format: 'pt' });
    const os = optimizer.stateDict();
    files[OPTIMIZER_FILE] = await saveTensors(os.tensors, { format: 'pt' });
    st.optimizer = { type: o.optimizer ?? 'adamw', step: os.step, lr: os.lr };
    st.generators = { default: getDefaultGenerator().state, modules: {} };
    for (const [path, g] of moduleGenerators(model)) st.generators.modules[path] = g.state;
    files[STATE_FILE] = `${JSON.stringify(st)}\n`;
    return store.write(st.step, files);
  }

  /** Load a checkpoint into the model, optimizer, generators and `st`. */
  private async restore(
    path: string,
    st: TrainerState,
    params: ParamRef[],
    optimizer: Optimizer,
    backend: Backend | undefined,
  ): Promise<void> {
    const store = this.resumeStore();
    const saved = JSON.parse(new TextDecoder().decode(await store.read(path, STATE_FILE))) as TrainerState;
    if (saved.format !== 'peftjs-trainer-state') throw new Error(`Trainer: ${path} has no peftjs trainer state`);
    for (const k of Object.keys(st.config) as (keyof TrainerState['config'])[]) {
      if (saved.config[k] !== st.config[k]) {
        throw new Error(
          `Trainer: cannot resume from ${path}: it was written with ${k} = ${saved.config[k]}, this run has ${st.config[k]}`,
        );
      }
    }
    if (saved.seed !== st.seed)
      throw new Error(
        `Trainer: cannot resume from ${path}: it was written with seed ${saved.seed}, this run has ${st.seed}`,
      );
    if (saved.optimizer.type !== st.optimizer.type) {
      throw new Error(
        `Trainer: cannot resume from ${path}: its optimizer is ${saved.optimizer.type}, this run uses ${st.optimizer.type}`,
      );
    }
    const names = new Set(params.map((p) => p.name));
    const missing = Object.keys(saved.params).filter((n) => !names.has(n));
    const unsaved = [...names].filter((n) => !(n in saved.params));
    if (missing.length || unsaved.length) {
      throw new Error(
        `Trainer: the checkpoint's trained parameters do not match the model's (missing: ${unsaved.slice(0, 4).join(', ') || 'none'}; unknown: ${missing.slice(0, 4).join(', ') || 'none'})`,
      );
    }
    // parameters
    const loaded = new Map<string, Record<string, Tensor>>();
    try {
      for (const file of new Set(Object.values(saved.params).map(([f]) => f))) {
        loaded.set(file, await loadTensors(await store.read(path, file), { dtype: 'f32', backend }));
      }
      for (const p of params) {
        const [file, key] = saved.params[p.name];
        const t = loaded.get(file)![key];
        if (!t) throw new Error(`Trainer: checkpoint file ${file} lacks '${key}'`);
        const cur = p.get();
        if (t.shape.length !== cur.shape.length || t.shape.some((d, i) => d !== cur.shape[i])) {
          throw new Error(
            `Trainer: checkpoint tensor '${key}' is [${t.shape.join(', ')}], the model's '${p.name}' is [${cur.shape.join(', ')}]`,
          );
        }
        delete loaded.get(file)![key];
        p.set(t);
      }
    } finally {
      for (const rec of loaded.values()) for (const t of Object.values(rec)) t.dispose();
    }
    // optimizer
    const tensors = await loadTensors(await store.read(path, OPTIMIZER_FILE), { dtype: 'f32', backend });
    optimizer.loadStateDict({ step: saved.optimizer.step, lr: saved.optimizer.lr, tensors });
    // random streams
    manualSeed(saved.generators.default.seed).setState(saved.generators.default);
    const gens = moduleGenerators(this.opts.model);
    for (const [key, g] of Object.entries(saved.generators.modules)) {
      const cur = gens.get(key);
      if (!cur) throw new Error(`Trainer: the checkpoint has generator state for '${key}', which the model lacks`);
      if (cur.seed !== g.seed)
        throw new Error(`Trainer: generator '${key}' has seed ${cur.seed}, the checkpoint's has ${g.seed}`);
      cur.setState(g);
    }
    Object.assign(st, {
      step: saved.step,
      epoch: saved.epoch,
      position: saved.position,
      history: saved.history,
      evals: saved.evals,
      trainSeconds: saved.trainSeconds,
      tokensSeen: saved.tokensSeen,
      peakTensorBytes: saved.peakTensorBytes,
      peakRssBytes: saved.peakRssBytes,
    });
  }
}

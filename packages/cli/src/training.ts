import type { CompareTrainerOptions } from '@peftjs/trainer/node';
import { choice, num, type OptionSpecs, type Parsed, str } from './args.js';
import { CliError } from './errors.js';

/**
 * Defaults of `peftjs train` / `peftjs compare`, chosen so that the default `peftjs train` (the tiny LLaMA on State of
 * the Union text, LoRA r 8 on every linear layer) finishes in about two minutes on a 2-core machine.
 */
export const TRAIN_DEFAULTS = {
  steps: 90,
  batchSize: 8,
  lr: 3e-3,
  warmupSteps: 10,
  weightDecay: 0,
  schedule: 'cosine',
  optimizer: 'adamw',
  maxGradNorm: 1,
  seed: 42,
} as const;

export const TRAINING_OPTIONS: OptionSpecs = {
  steps: {
    type: 'string',
    value: 'N',
    help: 'Optimizer steps (overrides --epochs).',
    default: String(TRAIN_DEFAULTS.steps),
  },
  epochs: { type: 'string', value: 'N', help: 'Passes over the training data (used when --steps is not given).' },
  'batch-size': {
    type: 'string',
    value: 'N',
    help: 'Sequences per micro-batch.',
    default: String(TRAIN_DEFAULTS.batchSize),
  },
  'grad-accum': { type: 'string', value: 'N', help: 'Micro-batches per optimizer step.', default: '1' },
  lr: { type: 'string', value: 'X', help: 'Peak learning rate.', default: String(TRAIN_DEFAULTS.lr) },
  schedule: {
    type: 'string',
    value: 'S',
    help: 'constant, linear or cosine (after linear warm-up).',
    default: TRAIN_DEFAULTS.schedule,
  },
  'warmup-steps': {
    type: 'string',
    value: 'N',
    help: 'Linear warm-up steps.',
    default: String(TRAIN_DEFAULTS.warmupSteps),
  },
  optimizer: { type: 'string', value: 'O', help: 'adamw or sgd.', default: TRAIN_DEFAULTS.optimizer },
  'weight-decay': {
    type: 'string',
    value: 'X',
    help: 'Decoupled weight decay (AdamW) / L2 (SGD).',
    default: String(TRAIN_DEFAULTS.weightDecay),
  },
  'max-grad-norm': {
    type: 'string',
    value: 'X',
    help: 'Clip the global gradient norm (0: no clipping).',
    default: String(TRAIN_DEFAULTS.maxGradNorm),
  },
  seed: {
    type: 'string',
    value: 'N',
    help: 'Seed for adapter init, data order and dropout.',
    default: String(TRAIN_DEFAULTS.seed),
  },
  'eval-every': {
    type: 'string',
    value: 'N',
    help: 'Evaluate on the held-out sequences every N steps (and at the end).',
  },
};

/** The trainer options given by the command line (the model and data are added by the command). */
export function trainingOptions(
  values: Parsed['values'],
): CompareTrainerOptions & { maxSteps?: number; epochs?: number } {
  const epochsGiven = str(values, 'epochs') !== undefined;
  const stepsGiven = str(values, 'steps') !== undefined;
  const maxGradNorm = num(values, 'max-grad-norm', TRAIN_DEFAULTS.maxGradNorm, { min: 0 });
  const evalEvery =
    str(values, 'eval-every') === undefined ? undefined : num(values, 'eval-every', 0, { int: true, min: 1 });
  const opts: CompareTrainerOptions = {
    optimizer: choice(values, 'optimizer', ['adamw', 'sgd'] as const, TRAIN_DEFAULTS.optimizer),
    lr: num(values, 'lr', TRAIN_DEFAULTS.lr, { min: 0, exclusiveMin: true }),
    weightDecay: num(values, 'weight-decay', TRAIN_DEFAULTS.weightDecay, { min: 0 }),
    schedule: choice(values, 'schedule', ['constant', 'linear', 'cosine'] as const, TRAIN_DEFAULTS.schedule),
    warmupSteps: num(values, 'warmup-steps', TRAIN_DEFAULTS.warmupSteps, { int: true, min: 0 }),
    batchSize: num(values, 'batch-size', TRAIN_DEFAULTS.batchSize, { int: true, min: 1 }),
    gradAccumSteps: num(values, 'grad-accum', 1, { int: true, min: 1 }),
    maxGradNorm: maxGradNorm === 0 ? null : maxGradNorm,
    seed: num(values, 'seed', TRAIN_DEFAULTS.seed, { int: true, min: 0 }),
    progress: false,
    ...(evalEvery !== undefined ? { evalEvery } : {}),
  };
  if (epochsGiven && !stepsGiven) opts.epochs = num(values, 'epochs', 1, { int: true, min: 1 });
  else opts.maxSteps = num(values, 'steps', TRAIN_DEFAULTS.steps, { int: true, min: 1 });
  if (opts.warmupSteps! > 0 && opts.maxSteps !== undefined && opts.warmupSteps! >= opts.maxSteps) {
    opts.warmupSteps = Math.floor(opts.maxSteps / 10);
  }
  if (opts.batchSize! > 4096) throw new CliError(`--batch-size ${opts.batchSize} is too large`);
  return opts;
}

/** Print a step line about every tenth of the run (and the first and last step). */
export function stepLogger(total: number | undefined, log: (s: string) => void, prefix = '') {
  const every = total ? Math.max(1, Math.round(total / 10)) : 10;
  let tokens = 0;
  let seconds = 0;
  return (e: { step: number; loss: number; lr: number; tokens: number; seconds: number }) => {
    tokens += e.tokens;
    seconds += e.seconds;
    if (e.step === 1 || e.step % every === 0 || e.step === total) {
      log(
        `${prefix}step ${String(e.step).padStart(String(total ?? e.step).length)}${total ? `/${total}` : ''}  loss ${e.loss.toFixed(4)}  lr ${e.lr.toExponential(2)}  ${Math.round(tokens / Math.max(seconds, 1e-9))} tok/s`,
      );
    }
  };
}

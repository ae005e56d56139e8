/**
 * `@peftjs/trainer`: PyTorch-exact optimizers (AdamW, SGD with momentum), learning-rate schedules, gradient
 * clipping, and the training loop. This entry runs anywhere (browsers included): checkpoints go to a
 * {@link CheckpointStore} (IndexedDB in a page), progress to callbacks. `@peftjs/trainer/node` adds directory
 * checkpoints, JSONL log files and a terminal progress bar.
 * @packageDocumentation
 */

export type {
  CheckpointManifest,
  CheckpointRef,
  CheckpointStore,
  IndexedDbCheckpointStoreOptions,
} from './checkpoint-store.js';
export {
  checkpointName,
  checkpointStep,
  IndexedDbCheckpointStore,
  latestStoredCheckpoint,
  MANIFEST,
  sha256Hex,
} from './checkpoint-store.js';
export * from './compare/index.js';
export type { Batch, ChunkOptions, CollateOptions, TokenDataset, TokenExample, TokenSequence } from './data.js';
export { chunkTokens, collate, disposeBatch, shuffledOrder, toExample } from './data.js';
export type { EvalResult, EvalSums, EvaluateOptions, ForwardOutput } from './evaluate.js';
export { defaultLoss, evalBatchSums, evaluate, forwardBatch } from './evaluate.js';
export type { AdamWOptions } from './optim/adamw.js';
export { AdamW } from './optim/adamw.js';
export { clipGradNorm } from './optim/clip.js';
export type { OptimizerState } from './optim/optimizer.js';
export { Optimizer } from './optim/optimizer.js';
export type { ParamRef } from './optim/params.js';
export { trainableParams } from './optim/params.js';
export type { LrSchedule, ScheduleOptions } from './optim/schedule.js';
export { constantSchedule, cosineSchedule, linearSchedule, scheduleByName } from './optim/schedule.js';
export type { SGDOptions } from './optim/sgd.js';
export { SGD } from './optim/sgd.js';
export type { ProgressSink } from './progress.js';
export type {
  GeneratorState,
  StepInfo,
  StoppedReason,
  TrainerCallback,
  TrainerOptions,
  TrainerState,
  TrainResult,
} from './trainer.js';
export { NonFiniteError, Trainer } from './trainer.js';

/**
 * `@peftjs/trainer/node`: everything `@peftjs/trainer` has, plus what needs Node — checkpoints as directories
 * (atomic, fsynced, SHA-256 manifests), JSONL log files and a terminal progress bar — and a
 * {@link Trainer} that takes them as `checkpointDir`, `logFile` and `progress`.
 * @packageDocumentation
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FileCheckpointStore, type WriteCheckpointHooks } from './checkpoint.js';
import { createProgress } from './progress-node.js';
import type { ProgressSink } from './progress.js';
import { Trainer as CoreTrainer, type TrainerOptions as CoreTrainerOptions } from './trainer.js';

export * from './index.js';
export type { WriteCheckpointHooks } from './checkpoint.js';
export {
  cleanCheckpointDir,
  FileCheckpointStore,
  latestCheckpoint,
  listCheckpoints,
  pruneCheckpoints,
  verifyCheckpoint,
  writeCheckpoint,
} from './checkpoint.js';
export { createProgress } from './progress-node.js';

/** {@link CoreTrainerOptions | The trainer's options}, with Node's files and terminal. */
export interface TrainerOptions extends Omit<CoreTrainerOptions, 'progress'> {
  /** Where checkpoints go (`checkpoint-000012/` directories); none without it. Or pass `checkpointStore`. */
  checkpointDir?: string;
  /** Append one JSON object per step, eval and event to this file. */
  logFile?: string;
  /** Progress bar on stderr: 'auto' (default) shows it on a TTY only; true forces it; or a sink of your own. */
  progress?: boolean | 'auto' | ProgressSink | null;
  /** @internal test hooks for checkpoint writing. */
  checkpointHooks?: WriteCheckpointHooks;
}

/** The core options a Node {@link TrainerOptions} stands for. */
function coreOptions(opts: TrainerOptions): CoreTrainerOptions {
  const { checkpointDir, logFile, progress, checkpointHooks, ...core } = opts;
  if (checkpointDir !== undefined && core.checkpointStore)
    throw new Error('Trainer: pass checkpointDir or checkpointStore, not both');
  if (core.resume && checkpointDir === undefined && !core.checkpointStore && typeof core.resume !== 'string')
    throw new Error('Trainer: resume needs checkpointDir');
  const store = checkpointDir !== undefined ? new FileCheckpointStore(checkpointDir, checkpointHooks) : undefined;
  const out: CoreTrainerOptions = { ...core, checkpointStore: core.checkpointStore ?? store };
  // a checkpoint directory given as `resume` is read where it is, written checkpoints (if any) go to checkpointDir
  if (typeof core.resume === 'string' && !core.resumeStore)
    out.resumeStore = new FileCheckpointStore(dirname(core.resume), checkpointHooks);
  if (logFile !== undefined) {
    let made: Promise<unknown> | null = null;
    const inner = core.log;
    out.log = async (record) => {
      made ??= mkdir(dirname(logFile), { recursive: true });
      await made;
      await appendFile(logFile, `${JSON.stringify(record)}\n`);
      await inner?.(record);
    };
  }
  out.progress = typeof progress === 'object' ? progress : createProgress(progress ?? 'auto');
  return out;
}

/** The training loop of `@peftjs/trainer`, taking Node's `checkpointDir`, `logFile` and `progress` options. */
export class Trainer extends CoreTrainer {
  constructor(opts: TrainerOptions) {
    super(coreOptions(opts));
  }
}

/** A learning-rate schedule: the multiplier of the base learning rate at `step` (0-based). */
export type LrSchedule = (step: number) => number;

export interface ScheduleOptions {
  /** Linear warmup from 0 over this many steps (default 0). */
  warmupSteps?: number;
  /** Total training steps (needed by linear and cosine). */
  totalSteps?: number;
}

/** transformers' get_constant_schedule_with_warmup. */
export function constantSchedule(opts: ScheduleOptions = {}): LrSchedule {
  const w = opts.warmupSteps ?? 0;
  return (step) => (step < w ? step / Math.max(1, w) : 1);
}

/** transformers' get_linear_schedule_with_warmup: warmup, then linear decay to 0 at totalSteps. */
export function linearSchedule(opts: ScheduleOptions & { totalSteps: number }): LrSchedule {
  const w = opts.warmupSteps ?? 0;
  const total = opts.totalSteps;
  return (step) => (step < w ? step / Math.max(1, w) : Math.max(0, (total - step) / Math.max(1, total - w)));
}

/** transformers' get_cosine_schedule_with_warmup (half a cosine period by default). */
export function cosineSchedule(opts: ScheduleOptions & { totalSteps: number; numCycles?: number }): LrSchedule {
  const w = opts.warmupSteps ?? 0;
  const total = opts.totalSteps;
  const cycles = opts.numCycles ?? 0.5;
  return (step) => {
    if (step < w) return step / Math.max(1, w);
    const progress = (step - w) / Math.max(1, total - w);
    return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * cycles * 2 * progress)));
  };
}

/** A schedule by name, for configs and the CLI. */
export function scheduleByName(
  name: 'constant' | 'linear' | 'cosine',
  opts: ScheduleOptions & { totalSteps: number },
): LrSchedule {
  switch (name) {
    case 'constant':
      return constantSchedule(opts);
    case 'linear':
      return linearSchedule(opts);
    case 'cosine':
      return cosineSchedule(opts);
    default:
      throw new Error(`unknown schedule '${name}' (constant, linear or cosine)`);
  }
}

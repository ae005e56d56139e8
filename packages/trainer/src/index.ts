/**
 * `@peftjs/trainer`: PyTorch-exact optimizers (AdamW, SGD with momentum), learning-rate schedules, gradient
 * clipping, and the training loop.
 * @packageDocumentation
 */
export { AdamW } from './optim/adamw.js';
export type { AdamWOptions } from './optim/adamw.js';
export { clipGradNorm } from './optim/clip.js';
export { Optimizer } from './optim/optimizer.js';
export type { OptimizerState } from './optim/optimizer.js';
export { trainableParams } from './optim/params.js';
export type { ParamRef } from './optim/params.js';
export { constantSchedule, cosineSchedule, linearSchedule, scheduleByName } from './optim/schedule.js';
export type { LrSchedule, ScheduleOptions } from './optim/schedule.js';
export { SGD } from './optim/sgd.js';
export type { SGDOptions } from './optim/sgd.js';

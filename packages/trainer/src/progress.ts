/**
 * A progress display the trainer drives (`@peftjs/trainer/node`'s `createProgress` is a terminal bar; a page passes
 * its own, or uses the `onStepEnd` callback).
 */
export interface ProgressSink {
  start(total: number, start: number): void;
  update(step: number, loss: number, tokensPerSecond: number): void;
  stop(): void;
}

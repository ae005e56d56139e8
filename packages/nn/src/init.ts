import type { Backend, Generator, Tensor } from '@peftjs/tensor';
import { zeros } from '@peftjs/tensor';

let skipDepth = 0;

/**
 * Build modules inside `fn` with zero-filled parameters instead of random initialisation: the cheap path when the
 * weights are about to be replaced by a checkpoint (Hugging Face's `no_init_weights`). Nests; not async-safe.
 */
export function withoutInit<T>(fn: () => T): T {
  skipDepth++;
  try {
    return fn();
  } finally {
    skipDepth--;
  }
}

/** Whether {@link withoutInit} is in effect. */
export function isInitSkipped(): boolean {
  return skipDepth > 0;
}

/** Options every built-in layer accepts for creating its parameters. */
export interface ParamOptions {
  /** Random stream for the initialisation (the default generator otherwise). */
  generator?: Generator;
  /** Backend to create the parameters on (the active backend otherwise). */
  backend?: Backend;
}

/**
 * Make a parameter of `shape`: `init()` normally, zeros under {@link withoutInit}. The result has
 * `requiresGrad = true`.
 */
export function createParameter(shape: readonly number[], init: () => Tensor, opts: ParamOptions = {}): Tensor {
  const t = isInitSkipped() ? zeros(shape, { backend: opts.backend }) : init();
  t.requiresGrad = true;
  return t;
}

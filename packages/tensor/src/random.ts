import type { Backend } from './backend.js';
import { getBackend } from './engine.js';
import { ShapeError } from './errors.js';
import type { Shape } from './shape.js';
import { assertValidShape, sizeOf } from './shape.js';
import { Tensor } from './tensor.js';

/**
 * Counter-based random numbers: element `i` of a stream is a pure function of (key, counter + i), computed with
 * 32-bit integer arithmetic that every backend reproduces bit for bit (the WGSL kernels use the same mixer).
 * So a seeded dropout mask or initialisation is identical on CPU and GPU.
 */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** 32 random bits for counter `c` (a non-negative integer below 2^53) under `key`. */
export function randomBitsAt(key: readonly [number, number], c: number): number {
  const lo = c >>> 0;
  const hi = Math.floor(c / 4294967296) >>> 0;
  return mix32((mix32((mix32((lo ^ key[0]) >>> 0) + hi) >>> 0) ^ key[1]) >>> 0);
}

/** A uniform float in [0, 1) with 24 random bits (exactly representable in f32). */
export function uniformAt(key: readonly [number, number], c: number): number {
  return (randomBitsAt(key, c) >>> 8) * 5.9604644775390625e-8;
}

/**
 * A seeded stream. Each draw takes the next `n` counters, so a run that draws the same sizes in the same order
 * reproduces the same numbers; `state` / `setState` save and restore it (checkpoints).
 */
export class Generator {
  readonly key: readonly [number, number];
  private counter = 0;

  constructor(readonly seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 4294967296) >>> 0;
    this.key = [mix32((lo ^ 0x9e3779b9) >>> 0), mix32((hi ^ mix32(lo + 0x632be5ab)) >>> 0)];
  }
  /** Reserve `n` counters and return the first. */
  take(n: number): number {
    const c = this.counter;
    this.counter += n;
    return c;
  }
  get state(): { seed: number; counter: number } {
    return { seed: this.seed, counter: this.counter };
  }
  setState(state: { counter: number }): void {
    this.counter = state.counter;
  }
}

let defaultGenerator = new Generator(0);

/** Reseed the default generator. */
export function manualSeed(seed: number): Generator {
  defaultGenerator = new Generator(seed);
  return defaultGenerator;
}
export function getDefaultGenerator(): Generator {
  return defaultGenerator;
}

export interface RandomOptions {
  generator?: Generator;
  backend?: Backend;
  requiresGrad?: boolean;
}

function host(shape: Shape, values: Float32Array | Int32Array, dtype: 'f32' | 'i32', opts: RandomOptions): Tensor {
  const t = Tensor.fromValues(opts.backend ?? getBackend(), values, shape, dtype);
  t.requiresGrad = opts.requiresGrad ?? false;
  return t;
}

/** Uniform in [low, high). */
export function uniform(shape: Shape, low = 0, high = 1, opts: RandomOptions = {}): Tensor {
  assertValidShape('uniform', shape);
  const gen = opts.generator ?? defaultGenerator;
  const n = sizeOf(shape);
  const c = gen.take(n);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = low + (high - low) * uniformAt(gen.key, c + i);
  return host(shape, v, 'f32', opts);
}

/** Normal(mean, std) by the Box–Muller transform (two counters per value). */
export function randn(shape: Shape, mean = 0, std = 1, opts: RandomOptions = {}): Tensor {
  assertValidShape('randn', shape);
  const gen = opts.generator ?? defaultGenerator;
  const n = sizeOf(shape);
  const c = gen.take(2 * n);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u1 = 1 - uniformAt(gen.key, c + 2 * i); // (0, 1]: log is finite
    const u2 = uniformAt(gen.key, c + 2 * i + 1);
    v[i] = mean + std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  return host(shape, v, 'f32', opts);
}

/** Integers uniform in [low, high), i32. */
export function randint(low: number, high: number, shape: Shape, opts: RandomOptions = {}): Tensor {
  if (!(high > low)) throw new ShapeError('randint', `empty range [${low}, ${high})`);
  assertValidShape('randint', shape);
  const gen = opts.generator ?? defaultGenerator;
  const n = sizeOf(shape);
  const c = gen.take(n);
  const v = new Int32Array(n);
  for (let i = 0; i < n; i++) v[i] = low + Math.floor(uniformAt(gen.key, c + i) * (high - low));
  return host(shape, v, 'i32', opts);
}

/**
 * torch.nn.init.kaiming_uniform_ (fan_in mode, leaky_relu gain): bound = gain·√(3 / fan_in) with
 * gain = √(2 / (1 + a²)). The default a = √5 is what nn.Linear and PEFT's LoRA A use, giving bound 1/√fan_in.
 * fan_in is shape[1] × the receptive field (shape[2:]).
 */
export function kaimingUniform(shape: Shape, opts: RandomOptions & { a?: number; fanIn?: number } = {}): Tensor {
  if (shape.length < 2 && opts.fanIn === undefined)
    throw new ShapeError('kaimingUniform', 'needs rank >= 2 or fanIn', [shape]);
  const a = opts.a ?? Math.sqrt(5);
  const fanIn = opts.fanIn ?? shape[1] * sizeOf(shape.slice(2));
  const gain = Math.sqrt(2 / (1 + a * a));
  const bound = gain * Math.sqrt(3 / fanIn);
  return uniform(shape, -bound, bound, opts);
}

import type { Backend } from './backend.js';
import { missingKernels } from './backend.js';
import { BackendError } from './errors.js';
import type { Tensor } from './tensor.js';

/** Creates a backend (possibly asynchronously, e.g. after requesting a GPU device). */
export type BackendFactory = () => Backend | Promise<Backend>;

/** Live-object counters, so that leaks are testable: `memory()` before and after a loop should match. */
export interface MemoryInfo {
  /** Tensors created and not yet disposed. */
  tensors: number;
  /** Backend buffers alive (several tensors may share one: reshape, detach). */
  buffers: number;
  /** Bytes held by those buffers. */
  bytes: number;
  /** Per backend name. */
  byBackend: Record<string, { buffers: number; bytes: number }>;
}

/**
 * Process-wide state: the registered and active backends, the stack of tracking scopes, and whether autograd
 * records. Kept on `globalThis` so two bundled copies of the package share one engine (as TF.js does).
 */
class Engine {
  factories = new Map<string, { factory: BackendFactory; priority: number }>();
  instances = new Map<string, Backend>();
  active: Backend | null = null;
  scopes: Set<Tensor>[] = [];
  gradEnabled = true;
  liveTensors = 0;
  nextTensorId = 1;
  buffers = new Map<string, { buffers: number; bytes: number }>();

  track(t: Tensor): void {
    this.liveTensors++;
    const top = this.scopes[this.scopes.length - 1];
    if (top) top.add(t);
  }

  untrack(t: Tensor): void {
    this.liveTensors--;
    for (const s of this.scopes) s.delete(t);
  }

  countBuffer(backend: string, bytes: number, sign: 1 | -1): void {
    let e = this.buffers.get(backend);
    if (!e) {
      e = { buffers: 0, bytes: 0 };
      this.buffers.set(backend, e);
    }
    e.buffers += sign;
    e.bytes += sign * bytes;
  }
}

const ENGINE_KEY = Symbol.for('@peftjs/tensor/engine');
const g = globalThis as unknown as Record<symbol, Engine | undefined>;
g[ENGINE_KEY] ??= new Engine();
export const engine: Engine = g[ENGINE_KEY];

/**
 * Make a backend available under `name`. The factory runs on first use (`setBackend` or `ready`).
 * Higher priority wins when no backend was chosen explicitly.
 */
export function registerBackend(name: string, factory: BackendFactory, priority = 0): void {
  if (engine.factories.has(name)) throw new BackendError(`backend '${name}' is already registered`);
  engine.factories.set(name, { factory, priority });
}

/** Start (if needed) and activate backend `name`. Fails if it is unknown or lacks any kernel of the contract. */
export async function setBackend(name: string): Promise<Backend> {
  const b = await initBackend(name);
  engine.active = b;
  return b;
}

/** Start (if needed) and return backend `name` without making it the default. */
export async function initBackend(name: string): Promise<Backend> {
  const existing = engine.instances.get(name);
  if (existing) return existing;
  const entry = engine.factories.get(name);
  if (!entry) {
    throw new BackendError(
      `unknown backend '${name}' (registered: ${[...engine.factories.keys()].join(', ') || 'none'})`,
    );
  }
  const b = await entry.factory();
  const missing = missingKernels(b.name);
  if (missing.length) throw new BackendError(`backend '${name}' is missing kernels: ${missing.join(', ')}`);
  engine.instances.set(name, b);
  return b;
}

/** The active backend. The CPU backend is activated implicitly if none was chosen. */
export function getBackend(): Backend {
  if (engine.active) return engine.active;
  const cpu = engine.instances.get('cpu');
  if (cpu) {
    engine.active = cpu;
    return cpu;
  }
  throw new BackendError("no active backend: call `await setBackend('cpu')` (or 'webgpu') first");
}

/** Destroy a started backend. Its tensors become unusable. */
export async function destroyBackend(name: string): Promise<void> {
  const b = engine.instances.get(name);
  if (!b) return;
  engine.instances.delete(name);
  if (engine.active === b) engine.active = null;
  await b.destroy();
}

export function memory(): MemoryInfo {
  let buffers = 0;
  let bytes = 0;
  const byBackend: MemoryInfo['byBackend'] = {};
  for (const [name, e] of engine.buffers) {
    buffers += e.buffers;
    bytes += e.bytes;
    byBackend[name] = { ...e };
  }
  return { tensors: engine.liveTensors, buffers, bytes, byBackend };
}

/** Whether ops record the autograd graph right now. */
export function isGradEnabled(): boolean {
  return engine.gradEnabled;
}

/** Run `fn` without recording gradients (inference, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = engine.gradEnabled;
  engine.gradEnabled = false;
  try {
    return fn();
  } finally {
    engine.gradEnabled = prev;
  }
}

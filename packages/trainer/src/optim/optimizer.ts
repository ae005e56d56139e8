import { keep, noGrad, type Tensor, tidy } from '@peftjs/tensor';
import type { ParamRef } from './params.js';

/** Serializable optimizer state: per-parameter tensors by parameter name, plus scalars. */
export interface OptimizerState {
  step: number;
  lr: number;
  tensors: Record<string, Tensor>;
}

/**
 * Base of the optimizers: parameter refs, a learning rate that schedules may change, zeroGrad, and state
 * (de)serialization keyed by parameter name so checkpoints survive a restart.
 */
export abstract class Optimizer {
  /** Number of steps taken. */
  stepCount = 0;
  protected readonly state = new Map<string, Record<string, Tensor>>();

  constructor(
    readonly params: readonly ParamRef[],
    public lr: number,
  ) {
    if (!(lr >= 0)) throw new RangeError(`learning rate must be >= 0, got ${lr}`);
    const names = new Set<string>();
    for (const p of params) {
      if (names.has(p.name)) throw new Error(`optimizer: parameter '${p.name}' appears twice`);
      names.add(p.name);
    }
  }

  /** Update every parameter that has a gradient. */
  step(): void {
    this.stepCount++;
    noGrad(() => {
      for (const p of this.params) {
        const param = p.get();
        if (!param.grad) continue;
        const slot = this.state.get(p.name) ?? {};
        const next = tidy(() => this.update(param, param.grad!, slot, p.name));
        this.state.set(p.name, slot);
        p.set(next);
      }
    });
  }

  /**
   * The new value of `param`. Implementations replace entries of `state` (disposing the old ones) and must
   * `keep` nothing themselves: the base class keeps the state tensors out of the step's scope.
   */
  protected abstract update(param: Tensor, grad: Tensor, state: Record<string, Tensor>, name: string): Tensor;

  /** Drop every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.params) p.get().zeroGrad();
  }

  /** Replace `state[key]` with `value` (disposing the old tensor). */
  protected put(state: Record<string, Tensor>, key: string, value: Tensor): void {
    const old = state[key];
    state[key] = value;
    keep(value);
    if (old && old !== value) old.dispose();
  }

  /** Snapshot for checkpoints (tensors are shared, not copied: they are immutable). */
  stateDict(): OptimizerState {
    const tensors: Record<string, Tensor> = {};
    for (const [name, s] of this.state) for (const [k, t] of Object.entries(s)) tensors[`${name}::${k}`] = t;
    return { step: this.stepCount, lr: this.lr, tensors };
  }

  /** Restore a snapshot made by {@link stateDict} (tensors are taken over by the optimizer). */
  loadStateDict(s: OptimizerState): void {
    this.disposeState();
    this.stepCount = s.step;
    this.lr = s.lr;
    for (const [key, t] of Object.entries(s.tensors)) {
      const i = key.lastIndexOf('::');
      if (i < 0) throw new Error(`optimizer state: malformed key '${key}'`);
      const name = key.slice(0, i);
      if (!this.params.some((p) => p.name === name)) throw new Error(`optimizer state: unknown parameter '${name}'`);
      const slot = this.state.get(name) ?? {};
      slot[key.slice(i + 2)] = keep(t);
      this.state.set(name, slot);
    }
  }

  private disposeState(): void {
    for (const s of this.state.values()) for (const t of Object.values(s)) t.dispose();
    this.state.clear();
  }

  /** Free the optimizer's state tensors. */
  dispose(): void {
    this.disposeState();
  }
}

import { concat, reshape, STEP_STATS, STEP_STATS_SIZE, type Tensor, tidy } from '@peftjs/tensor';

/** A step's numbers before they are read: what the host knows, and the device tensors holding the rest. */
export interface PendingStep {
  step: number;
  epoch: number;
  lr: number;
  tokens: number;
  seconds: number;
  /** Weights of the micro-batch losses in the step's loss (their sum is 1). */
  weights: number[];
  /** The micro-batch losses, f32 [k] (owned; disposed once read). */
  losses: Tensor;
  /** The step's `stepStats` vector (device-decided steps; owned), or the host's verdict (read already). */
  verdict: Tensor | { norm: number | undefined; skip: number };
}

/** What a pending step turned out to be. */
export interface SettledStep {
  pending: PendingStep;
  /** Σ wᵢ·lossᵢ in float64, in micro-batch order (as the trainer always summed it). */
  loss: number;
  /** The global gradient norm (undefined when the loss was non-finite: it is not looked at then). */
  gradNorm: number | undefined;
  /** 0 applied; 1 non-finite loss; 2 non-finite gradient norm; 3 skipped after an earlier bad step. */
  skip: number;
  /** Cumulative device skip count after this step (device-decided steps). */
  skips: number;
}

/**
 * The steps whose loss and gradient norm are still on the device. {@link settle} reads them all in one transfer:
 * the losses and stats vectors are joined on the device first, so a batch of steps costs one read.
 */
export class PendingSteps {
  private items: PendingStep[] = [];
  /** The newest stats vector (a handle of its own, so it outlives {@link settle}): the next step's `prev`. */
  private carry: Tensor | null = null;

  get length(): number {
    return this.items.length;
  }

  push(p: PendingStep): void {
    this.items.push(p);
    if ('dispose' in p.verdict) {
      this.carry?.dispose();
      this.carry = p.verdict.detach();
    }
  }

  /** The newest device-decided stats vector (null before the first): the chain the next step continues. */
  lastStats(): Tensor | null {
    return this.carry;
  }

  /** Read every pending step (one read) and hand them back in order; the queue is empty afterwards. */
  async settle(): Promise<SettledStep[]> {
    const items = this.items;
    this.items = [];
    if (!items.length) return [];
    try {
      const parts: Tensor[] = [];
      for (const p of items) {
        parts.push(p.losses);
        if ('dispose' in p.verdict) parts.push(p.verdict);
      }
      const joined = tidy(() => concat(parts.map((t) => reshape(t, [t.size]))));
      const values = await joined.data();
      joined.dispose();
      let at = 0;
      return items.map((p) => {
        const n = p.losses.size;
        let loss = 0;
        for (let i = 0; i < n; i++) loss += p.weights[i] * values[at + i];
        at += n;
        let norm: number | undefined;
        let skip: number;
        let skips = 0;
        if ('dispose' in p.verdict) {
          norm = values[at + STEP_STATS.norm];
          skip = values[at + STEP_STATS.skip];
          skips = values[at + STEP_STATS.skips];
          at += STEP_STATS_SIZE;
        } else ({ norm, skip } = p.verdict);
        return { pending: p, loss, gradNorm: Number.isFinite(loss) ? norm : undefined, skip, skips };
      });
    } finally {
      for (const p of items) {
        p.losses.dispose();
        if ('dispose' in p.verdict) p.verdict.dispose();
      }
    }
  }

  /** Free the device tensors of steps that will not be read, and the chain. */
  dispose(): void {
    this.carry?.dispose();
    this.carry = null;
    for (const p of this.items) {
      p.losses.dispose();
      if ('dispose' in p.verdict) p.verdict.dispose();
    }
    this.items = [];
  }
}

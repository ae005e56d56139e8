/** A plan's measured fitness: calibration held-out loss (lower is better). */
export interface Fitness {
  loss: number;
}

/**
 * Where evaluated plans are kept (plan key → fitness), so an interrupted search resumes without repeating work.
 * `set` must have persisted the entry when it resolves.
 */
export interface PlanCache {
  get(key: string): Promise<Fitness | undefined>;
  set(key: string, value: Fitness): Promise<void>;
}

/** An in-memory cache (browsers, tests); `@peftjs/qr-adaptor/node` has a file-backed one. */
export class MemoryPlanCache implements PlanCache {
  readonly entries = new Map<string, Fitness>();
  async get(key: string): Promise<Fitness | undefined> {
    return this.entries.get(key);
  }
  async set(key: string, value: Fitness): Promise<void> {
    this.entries.set(key, { ...value });
  }
}

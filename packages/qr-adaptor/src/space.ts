/** One adaptable linear module of the base model, as the search sees it. */
export interface ModuleSpec {
  /** Dotted path in the model (e.g. `model.layers.0.self_attn.q_proj`). */
  path: string;
  inFeatures: number;
  outFeatures: number;
}

/** The per-module choices (QR-Adaptor, arXiv 2505.03802: bits {4, 8, 16} × rank {0, 2, 4, 8, 16}). */
export interface SearchSpace {
  /** Bit widths of the base weight, ascending (4 = NF4, 8 = int8, 16 = float16 storage). */
  bits: readonly number[];
  /** LoRA ranks, ascending; 0 = no adapter on that module. */
  ranks: readonly number[];
}

export const DEFAULT_SPACE: SearchSpace = { bits: [4, 8, 16], ranks: [0, 2, 4, 8, 16] };

/** One module's choice. */
export interface LayerChoice {
  bits: number;
  rank: number;
}

/** A plan: one choice per module, in the order of the module list. */
export type Plan = readonly LayerChoice[];

export class SearchSpaceError extends Error {
  override name = 'SearchSpaceError';
}

/** Check a search space (ascending, distinct, non-empty; bits in {2..16}, ranks ≥ 0). */
export function validateSpace(space: SearchSpace): void {
  const check = (name: string, xs: readonly number[], ok: (x: number) => boolean) => {
    if (!xs.length) throw new SearchSpaceError(`${name} must not be empty`);
    xs.forEach((x, i) => {
      if (!Number.isInteger(x) || !ok(x)) throw new SearchSpaceError(`${name}[${i}] = ${x} is not allowed`);
      if (i > 0 && x <= xs[i - 1])
        throw new SearchSpaceError(`${name} must be strictly ascending, got ${xs.join(', ')}`);
    });
  };
  check('bits', space.bits, (b) => b >= 2 && b <= 16);
  check('ranks', space.ranks, (r) => r >= 0);
}

/** A stable text key of a plan (cache key; equal plans, equal keys). */
export function planKey(plan: Plan): string {
  return plan.map((c) => `${c.bits}:${c.rank}`).join(',');
}

/** The plan with every module at (bits, rank). */
export function uniformPlan(n: number, bits: number, rank: number): LayerChoice[] {
  return Array.from({ length: n }, () => ({ bits, rank }));
}

/** Every uniform plan of the space, (bits, rank) ascending. */
export function uniformPlans(n: number, space: SearchSpace): LayerChoice[][] {
  const out: LayerChoice[][] = [];
  for (const b of space.bits) for (const r of space.ranks) out.push(uniformPlan(n, b, r));
  return out;
}

/** Seeded uniform [0, 1) numbers (mulberry32): the search is deterministic for a seed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

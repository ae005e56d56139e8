import type { PlanCache } from './cache.js';
import { expectedImprovement, GaussianProcess, type GpKernel } from './gp.js';
import { warmStart } from './init.js';
import { MemoryModel } from './memory.js';
import {
  atomicNeighbours,
  crossover,
  mutate,
  nonDominatedSort,
  rankAndCrowding,
  repair,
  type Scored,
  type Sensitivity,
  selectSurvivors,
  tournament,
} from './nsga2.js';
import {
  DEFAULT_SPACE,
  type LayerChoice,
  type ModuleSpec,
  type Plan,
  planKey,
  Rng,
  type SearchSpace,
  uniformPlans,
  validateSpace,
} from './space.js';

/** Where the search is, for a progress bar. */
export interface SearchProgress {
  phase: 'init' | 'evolution' | 'refinement';
  /** Plans measured so far (fresh and from the cache). */
  done: number;
  /** Plans the search expects to measure in all (an upper bound). */
  total: number;
  /** Estimated seconds left, from the average time of the fresh evaluations so far (null before the first). */
  etaSeconds: number | null;
}

export interface SearchOptions {
  modules: readonly ModuleSpec[];
  budgetBytes: number;
  /** Per-module sensitivity (min-max normalised), from calibration (see `measureSensitivity`). */
  sensitivity: Sensitivity;
  /** Measure a plan for real: its calibration held-out loss after a short seeded fine-tune. */
  evaluate(plan: Plan): Promise<number>;
  space?: SearchSpace;
  memory?: MemoryModel;
  /** Evaluated plans (resume without repeating work). */
  cache?: PlanCache;
  /** Survivors per generation (default 12). */
  populationSize?: number;
  /** Generations of NSGA-II (default 3). */
  generations?: number;
  /** Offspring per generation (default populationSize). */
  offspring?: number;
  /** Bayesian refinement rounds (default 3; stops early when max EI < 1e-4). */
  refinementRounds?: number;
  /** Weight of performance against memory in the refinement utility (default 0.6, as the official code). */
  alpha?: number;
  kernel?: GpKernel;
  seed?: number;
  onProgress?(p: SearchProgress): void;
}

/** One measured plan. */
export interface EvaluatedPlan {
  plan: LayerChoice[];
  key: string;
  loss: number;
  memoryBytes: number;
  feasible: boolean;
  /** True when the loss came from the cache. */
  cached: boolean;
}

export interface SearchResult {
  /** Every plan measured, in order. */
  evaluated: EvaluatedPlan[];
  /** The feasible non-dominated plans on (calibration loss, memory), by memory ascending. */
  pareto: EvaluatedPlan[];
  /** The feasible plan with the lowest calibration loss (ties: less memory). */
  best: EvaluatedPlan;
  /** Uniform plans that fit the budget, as measured. */
  uniform: EvaluatedPlan[];
  freshEvaluations: number;
  cachedEvaluations: number;
}

export class SearchError extends Error {
  override name = 'SearchError';
}

/** ψ(C) of the official code's refinement: mean bit and rank levels, and importance-weighted levels. */
function features(plan: Plan, space: SearchSpace, sens: Sensitivity): number[] {
  const L = plan.length;
  const qLo = space.bits[0]!;
  const qHi = space.bits[space.bits.length - 1]!;
  const rLo = space.ranks[0]!;
  const rHi = space.ranks[space.ranks.length - 1]!;
  let sq = 0;
  let sr = 0;
  let wq = 0;
  let wr = 0;
  plan.forEach((c, i) => {
    const q = qHi > qLo ? (c.bits - qLo) / (qHi - qLo) : 0;
    const r = rHi > rLo ? (c.rank - rLo) / (rHi - rLo) : 0;
    sq += q / L;
    sr += r / L;
    wq += (sens.quant[i]! * q) / L;
    wr += (sens.rank[i]! * r) / L;
  });
  return [sq, sr, wq, wr];
}

/**
 * QR-Adaptor's search (arXiv 2505.03802 and its official code): task-informed warm start from per-layer
 * sensitivity, constrained NSGA-II on (calibration loss, memory) with per-layer crossover, sensitivity-guided
 * atomic mutation and repair by the cheapest downgrade, then Bayesian refinement of the Pareto front (GP surrogate,
 * expected improvement over the repaired atomic neighbourhoods). Every uniform plan within the budget is measured
 * too, so the result is never worse on the calibration objective than the best of them. Seeded and deterministic;
 * with a cache, a rerun measures only what was not measured before.
 */
export async function searchPlans(o: SearchOptions): Promise<SearchResult> {
  const space = o.space ?? DEFAULT_SPACE;
  validateSpace(space);
  const n = o.modules.length;
  if (n === 0) throw new SearchError('no modules to search over');
  if (o.sensitivity.quant.length !== n || o.sensitivity.rank.length !== n)
    throw new SearchError(
      `sensitivity has ${o.sensitivity.quant.length}/${o.sensitivity.rank.length} entries for ${n} modules`,
    );
  const memory = o.memory ?? new MemoryModel(o.modules);
  const budget = o.budgetBytes;
  const cheapest = memory.total(Array.from({ length: n }, () => ({ bits: space.bits[0]!, rank: space.ranks[0]! })));
  if (!(budget >= cheapest))
    throw new SearchError(`the budget (${budget} bytes) is below the smallest plan (${cheapest} bytes)`);
  const popSize = o.populationSize ?? 12;
  const generations = o.generations ?? 3;
  const offspring = o.offspring ?? popSize;
  const rounds = o.refinementRounds ?? 3;
  const rng = new Rng(o.seed ?? 0);
  const sens = o.sensitivity;

  const evaluated: EvaluatedPlan[] = [];
  const byKey = new Map<string, EvaluatedPlan>();
  let fresh = 0;
  let cachedCount = 0;
  let freshSeconds = 0;
  const uniform = uniformPlans(n, space).filter((p) => memory.total(p) <= budget);
  const total = uniform.length + popSize + generations * offspring + rounds;
  let phase: SearchProgress['phase'] = 'init';
  const report = () =>
    o.onProgress?.({
      phase,
      done: evaluated.length,
      total: Math.max(total, evaluated.length),
      etaSeconds: fresh ? (freshSeconds / fresh) * Math.max(total - evaluated.length, 0) : null,
    });

  const measure = async (plan: LayerChoice[]): Promise<EvaluatedPlan> => {
    const key = planKey(plan);
    const seen = byKey.get(key);
    if (seen) return seen;
    let loss: number;
    let cached = false;
    const hit = await o.cache?.get(key);
    if (hit) {
      loss = hit.loss;
      cached = true;
      cachedCount++;
    } else {
      const t0 = performance.now();
      loss = await o.evaluate(plan);
      if (!Number.isFinite(loss)) throw new SearchError(`plan ${key} measured a non-finite loss (${loss})`);
      freshSeconds += (performance.now() - t0) / 1000;
      fresh++;
      await o.cache?.set(key, { loss });
    }
    const memoryBytes = memory.total(plan);
    const e: EvaluatedPlan = { plan, key, loss, memoryBytes, feasible: memoryBytes <= budget, cached };
    byKey.set(key, e);
    evaluated.push(e);
    report();
    return e;
  };
  const scored = (e: EvaluatedPlan): Scored => ({
    objectives: [e.loss, e.memoryBytes],
    violation: Math.max(e.memoryBytes - budget, 0),
  });
  const fix = (p: LayerChoice[]) => repair(p, budget, memory, space, sens);

  // 1. initial population: uniform plans that fit, the warm start, jittered copies of it
  const uniformEvaluated: EvaluatedPlan[] = [];
  for (const p of uniform) uniformEvaluated.push(await measure(p));
  const warm = fix(warmStart(sens, space));
  let population: EvaluatedPlan[] = [await measure(warm)];
  for (let tries = 0; population.length < popSize && tries < popSize * 10; tries++) {
    let p = warm;
    const jitter = 1 + rng.int(3);
    for (let j = 0; j < jitter; j++) p = mutate(p, space, sens, rng);
    p = fix(p);
    if (population.some((e) => e.key === planKey(p))) continue;
    population.push(await measure(p));
  }
  population = [...new Map([...population, ...uniformEvaluated].map((e) => [e.key, e])).values()];
  population = selectSurvivors(population.map(scored), popSize).map((i) => population[i]!);

  // 2. NSGA-II
  phase = 'evolution';
  for (let g = 0; g < generations; g++) {
    const { rank, crowding } = rankAndCrowding(population.map(scored));
    const children: EvaluatedPlan[] = [];
    for (let tries = 0; children.length < offspring && tries < offspring * 10; tries++) {
      const a = population[tournament(rank, crowding, rng)]!;
      const b = population[tournament(rank, crowding, rng)]!;
      let child = crossover(a.plan, b.plan, rng);
      child = mutate(child, space, sens, rng);
      // coupled mode (probability 0.3): one more upgrade, then the repair pays for it
      if (rng.next() < 0.3)
        child = mutate(child, space, { quant: sens.quant.map(() => 1), rank: sens.rank.map(() => 1) }, rng);
      child = fix(child);
      const key = planKey(child);
      if (population.some((p) => p.key === key) || children.some((c) => c.key === key)) continue;
      children.push(await measure(child));
    }
    const pool = [...new Map([...population, ...children].map((e) => [e.key, e])).values()];
    population = selectSurvivors(pool.map(scored), popSize).map((i) => pool[i]!);
  }

  // 3. Bayesian refinement of the Pareto front
  phase = 'refinement';
  const alpha = o.alpha ?? 0.6;
  for (let round = 0; round < rounds; round++) {
    const feasible = evaluated.filter((e) => e.feasible);
    if (feasible.length < 2) break;
    const utility = utilities(feasible, alpha);
    const mu = utility.reduce((s, x) => s + x, 0) / utility.length;
    const sd = Math.sqrt(utility.reduce((s, x) => s + (x - mu) ** 2, 0) / utility.length) || 1;
    // the GP models −utility (standardised), so EI below the best is an improvement in utility
    const gp = new GaussianProcess(
      feasible.map((e) => features(e.plan, space, sens)),
      utility.map((u) => -(u - mu) / sd),
      o.kernel ?? { variance: 1, lengthscale: 0.3, noise: 1e-4 },
    );
    const best = Math.min(...utility.map((u) => -(u - mu) / sd));
    const front = paretoOf(feasible);
    const candidates = new Map<string, LayerChoice[]>();
    for (const e of front) {
      for (const nb of atomicNeighbours(e.plan, space)) {
        const p = fix(nb);
        const k = planKey(p);
        if (!byKey.has(k) && memory.total(p) <= budget) candidates.set(k, p);
      }
    }
    let pick: LayerChoice[] | null = null;
    let bestEi = 0;
    for (const p of candidates.values()) {
      const { mean, std } = gp.predict(features(p, space, sens));
      const ei = expectedImprovement(mean, std, best);
      if (ei > bestEi) {
        bestEi = ei;
        pick = p;
      }
    }
    if (!pick || bestEi < 1e-4) break;
    await measure(pick);
  }

  const feasible = evaluated.filter((e) => e.feasible);
  if (!feasible.length) throw new SearchError('no measured plan fits the budget');
  const best = feasible.reduce((a, b) =>
    b.loss < a.loss || (b.loss === a.loss && b.memoryBytes < a.memoryBytes) ? b : a,
  );
  return {
    evaluated,
    pareto: paretoOf(feasible).sort((a, b) => a.memoryBytes - b.memoryBytes),
    best,
    uniform: uniformEvaluated,
    freshEvaluations: fresh,
    cachedEvaluations: cachedCount,
  };
}

/** The non-dominated plans on (loss, memory). */
export function paretoOf(plans: readonly EvaluatedPlan[]): EvaluatedPlan[] {
  const front = nonDominatedSort(plans.map((e) => ({ objectives: [e.loss, e.memoryBytes], violation: 0 })))[0] ?? [];
  return front.map((i) => plans[i]!);
}

/** α·P̂ − (1−α)·M̂ with P = −loss and M = memory, each min-max normalised over `plans`. */
function utilities(plans: readonly EvaluatedPlan[], alpha: number): number[] {
  const norm = (xs: number[]) => {
    const lo = Math.min(...xs);
    const hi = Math.max(...xs);
    return xs.map((x) => (hi > lo ? (x - lo) / (hi - lo) : 0.5));
  };
  const p = norm(plans.map((e) => -e.loss));
  const m = norm(plans.map((e) => e.memoryBytes));
  return p.map((x, i) => alpha * x - (1 - alpha) * m[i]!);
}

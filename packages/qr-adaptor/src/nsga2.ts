import type { MemoryModel } from './memory.js';
import type { LayerChoice, Plan, Rng, SearchSpace } from './space.js';

/** A point for constrained non-dominated sorting: objectives to minimise and a constraint violation (0 = feasible). */
export interface Scored {
  objectives: readonly number[];
  /** How far over the constraint (bytes over budget); 0 when feasible. */
  violation: number;
}

/**
 * Deb's constrained domination: a feasible point beats an infeasible one; of two infeasible points the smaller
 * violation wins; of two feasible points, Pareto dominance (no objective worse, one better).
 */
export function dominates(a: Scored, b: Scored): boolean {
  if (a.violation === 0 && b.violation > 0) return true;
  if (a.violation > 0 && b.violation === 0) return false;
  if (a.violation > 0 && b.violation > 0) return a.violation < b.violation;
  let better = false;
  for (let k = 0; k < a.objectives.length; k++) {
    if (a.objectives[k]! > b.objectives[k]!) return false;
    if (a.objectives[k]! < b.objectives[k]!) better = true;
  }
  return better;
}

/** NSGA-II's fast non-dominated sort: fronts of indices, best first (each front's indices ascending). */
export function nonDominatedSort(points: readonly Scored[]): number[][] {
  const n = points.length;
  const dominated: number[][] = Array.from({ length: n }, () => []);
  const count = new Array<number>(n).fill(0);
  const fronts: number[][] = [[]];
  for (let p = 0; p < n; p++) {
    for (let q = 0; q < n; q++) {
      if (p === q) continue;
      if (dominates(points[p]!, points[q]!)) dominated[p]!.push(q);
      else if (dominates(points[q]!, points[p]!)) count[p]!++;
    }
    if (count[p] === 0) fronts[0]!.push(p);
  }
  let i = 0;
  while (fronts[i]!.length) {
    const next: number[] = [];
    for (const p of fronts[i]!) {
      for (const q of dominated[p]!) {
        count[q]!--;
        if (count[q] === 0) next.push(q);
      }
    }
    next.sort((a, b) => a - b);
    i++;
    fronts.push(next);
  }
  fronts.pop();
  return fronts;
}

/**
 * NSGA-II crowding distance of each member of `front` (indices into `points`): boundary points of every objective
 * get +∞; an interior point gets Σ_k (f_k[next] − f_k[prev]) / (f_k max − f_k min) over the front sorted by f_k
 * (objectives with no spread add nothing). Returned in `front` order.
 */
export function crowdingDistance(front: readonly number[], points: readonly Scored[]): number[] {
  const n = front.length;
  const d = new Array<number>(n).fill(0);
  if (n === 0) return d;
  const m = points[front[0]!]!.objectives.length;
  for (let k = 0; k < m; k++) {
    const order = [...front.keys()].sort(
      (a, b) => points[front[a]!]!.objectives[k]! - points[front[b]!]!.objectives[k]! || front[a]! - front[b]!,
    );
    const lo = points[front[order[0]!]!]!.objectives[k]!;
    const hi = points[front[order[n - 1]!]!]!.objectives[k]!;
    d[order[0]!] = Number.POSITIVE_INFINITY;
    d[order[n - 1]!] = Number.POSITIVE_INFINITY;
    if (hi === lo) continue;
    for (let j = 1; j < n - 1; j++) {
      const prev = points[front[order[j - 1]!]!]!.objectives[k]!;
      const next = points[front[order[j + 1]!]!]!.objectives[k]!;
      d[order[j]!]! += (next - prev) / (hi - lo);
    }
  }
  return d;
}

/** Rank (front number) and crowding distance of every point. */
export function rankAndCrowding(points: readonly Scored[]): { rank: number[]; crowding: number[] } {
  const rank = new Array<number>(points.length).fill(0);
  const crowding = new Array<number>(points.length).fill(0);
  nonDominatedSort(points).forEach((front, r) => {
    const d = crowdingDistance(front, points);
    front.forEach((p, j) => {
      rank[p] = r;
      crowding[p] = d[j]!;
    });
  });
  return { rank, crowding };
}

/**
 * Elitist survivor selection: whole fronts best first, the front that does not fit cut by crowding distance
 * (largest first; ties by index). Returns `size` indices.
 */
export function selectSurvivors(points: readonly Scored[], size: number): number[] {
  const out: number[] = [];
  for (const front of nonDominatedSort(points)) {
    if (out.length + front.length <= size) {
      out.push(...front);
      if (out.length === size) break;
      continue;
    }
    const d = crowdingDistance(front, points);
    const order = [...front.keys()].sort((a, b) => d[b]! - d[a]! || front[a]! - front[b]!);
    for (const j of order.slice(0, size - out.length)) out.push(front[j]!);
    break;
  }
  return out;
}

/** Binary tournament on (rank, then crowding distance). */
export function tournament(rank: readonly number[], crowding: readonly number[], rng: Rng): number {
  const a = rng.int(rank.length);
  const b = rng.int(rank.length);
  if (rank[a]! !== rank[b]!) return rank[a]! < rank[b]! ? a : b;
  return crowding[a]! >= crowding[b]! ? a : b;
}

/** Per-layer uniform crossover: each module's choice from either parent. */
export function crossover(a: Plan, b: Plan, rng: Rng): LayerChoice[] {
  return a.map((c, i) => ({ ...(rng.next() < 0.5 ? c : b[i]!) }));
}

/** The atomic neighbours of a plan: one ladder step up or down of one module's bits or rank. */
export function atomicNeighbours(plan: Plan, space: SearchSpace): LayerChoice[][] {
  const out: LayerChoice[][] = [];
  plan.forEach((c, i) => {
    const bi = space.bits.indexOf(c.bits);
    const ri = space.ranks.indexOf(c.rank);
    for (const [key, ladder, at] of [
      ['bits', space.bits, bi],
      ['rank', space.ranks, ri],
    ] as const) {
      for (const step of [-1, 1]) {
        const j = at + step;
        if (at < 0 || j < 0 || j >= ladder.length) continue;
        const next = plan.map((x) => ({ ...x }));
        next[i] = { ...c, [key]: ladder[j]! };
        out.push(next);
      }
    }
  });
  return out;
}

/** Per-module sensitivity: fidelity (loss increase when quantized hard) and plasticity (gain from rank). */
export interface Sensitivity {
  /** I_q per module, min-max normalised to [0, 1]. */
  quant: readonly number[];
  /** I_r per module, min-max normalised to [0, 1]. */
  rank: readonly number[];
}

/**
 * Sensitivity-guided atomic mutation (the official code's operator): pick a module with probability ∝ (I_q + I_r)^γ,
 * then bits or rank (by their share of that module's importance), stepping up with probability I, else down.
 */
export function mutate(plan: Plan, space: SearchSpace, sens: Sensitivity, rng: Rng, gamma = 1.5): LayerChoice[] {
  const w = plan.map((_, i) => (sens.quant[i]! + sens.rank[i]! + 1e-3) ** gamma);
  let u = rng.next() * w.reduce((s, x) => s + x, 0);
  let i = 0;
  while (i < w.length - 1 && u >= w[i]!) u -= w[i++]!;
  const c = plan[i]!;
  const iq = sens.quant[i]!;
  const ir = sens.rank[i]!;
  const onBits = rng.next() < (iq + 1e-3) / (iq + ir + 2e-3);
  const ladder = onBits ? space.bits : space.ranks;
  const importance = onBits ? iq : ir;
  const at = ladder.indexOf(onBits ? c.bits : c.rank);
  let j = at + (rng.next() < importance ? 1 : -1);
  if (j < 0 || j >= ladder.length) j = at + (j < 0 ? 1 : -1);
  const next = plan.map((x) => ({ ...x }));
  if (j >= 0 && j < ladder.length) next[i] = onBits ? { ...c, bits: ladder[j]! } : { ...c, rank: ladder[j]! };
  return next;
}

/**
 * Repair an over-budget plan (the paper's Eqs. 4–5): while it exceeds `budget`, apply the single one-step downgrade
 * (bits or rank of one module) with the smallest (I + ε) / ΔM — the least importance lost per byte saved; ties go
 * to the earlier module, bits before rank. Returns the plan unchanged when it fits, and the cheapest reachable plan
 * (still over) when nothing more can be downgraded.
 */
export function repair(
  plan: Plan,
  budget: number,
  memory: MemoryModel,
  space: SearchSpace,
  sens: Sensitivity,
  eps = 1e-6,
): LayerChoice[] {
  const cur = plan.map((c) => ({ ...c }));
  let total = memory.total(cur);
  while (total > budget) {
    let best: { i: number; choice: LayerChoice; saved: number; cost: number } | null = null;
    for (let i = 0; i < cur.length; i++) {
      const c = cur[i]!;
      const before = memory.module(i, c);
      const options: [LayerChoice, number][] = [];
      const bi = space.bits.indexOf(c.bits);
      if (bi > 0) options.push([{ ...c, bits: space.bits[bi - 1]! }, sens.quant[i]!]);
      const ri = space.ranks.indexOf(c.rank);
      if (ri > 0) options.push([{ ...c, rank: space.ranks[ri - 1]! }, sens.rank[i]!]);
      for (const [choice, importance] of options) {
        const after = memory.module(i, choice);
        const saved = before.base + before.adapter - (after.base + after.adapter);
        if (saved <= 0) continue;
        const cost = (importance + eps) / saved;
        if (!best || cost < best.cost) best = { i, choice, saved, cost };
      }
    }
    if (!best) break;
    cur[best.i] = best.choice;
    total -= best.saved;
  }
  return cur;
}

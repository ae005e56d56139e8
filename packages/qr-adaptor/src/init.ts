import type { Sensitivity } from './nsga2.js';
import type { LayerChoice, SearchSpace } from './space.js';

/** The shaping of normalised importance before it is mapped onto a ladder (the official code's τ). */
export type Shaping = 'identity' | 'sqrt' | 'square';

const shape = (x: number, s: Shaping) => (s === 'sqrt' ? Math.sqrt(x) : s === 'square' ? x * x : x);

/** The ladder value nearest to `v` (ties to the smaller). */
export function nearest(ladder: readonly number[], v: number): number {
  let best = ladder[0]!;
  for (const x of ladder) if (Math.abs(x - v) < Math.abs(best - v)) best = x;
  return best;
}

/** Min-max normalise to [0, 1] (all-equal inputs map to 0.5). */
export function minMax(xs: readonly number[]): number[] {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return xs.map((x) => (hi > lo ? (x - lo) / (hi - lo) : 0.5));
}

/**
 * Task-informed initialisation (Eq. 6 of the official code): q_l = round_Q(q_min + (q_max − q_min)·τ(I_q(l))) and
 * r_l = round_R(r_min + (r_max − r_min)·τ(I_r(l))): sensitive layers keep more bits, adaptable ones get more rank.
 */
export function warmStart(sens: Sensitivity, space: SearchSpace, shaping: Shaping = 'identity'): LayerChoice[] {
  const qMin = space.bits[0]!;
  const qMax = space.bits[space.bits.length - 1]!;
  const rMin = space.ranks[0]!;
  const rMax = space.ranks[space.ranks.length - 1]!;
  return sens.quant.map((iq, i) => ({
    bits: nearest(space.bits, qMin + (qMax - qMin) * shape(iq, shaping)),
    rank: nearest(space.ranks, rMin + (rMax - rMin) * shape(sens.rank[i]!, shaping)),
  }));
}

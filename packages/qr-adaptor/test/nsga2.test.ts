/** NSGA-II parts against hand-computed cases. */
import { describe, expect, it } from 'vitest';
import {
  atomicNeighbours,
  crowdingDistance,
  DEFAULT_SPACE,
  dominates,
  MemoryModel,
  nonDominatedSort,
  repair,
  type Scored,
  selectSurvivors,
} from '../src/index.js';

const pt = (loss: number, mem: number, violation = 0): Scored => ({ objectives: [loss, mem], violation });

describe('constrained non-dominated sorting', () => {
  // feasible: 0 (1,5) 1 (2,3) 2 (3,1) 3 (2,4) 4 (4,4) 5 (3,3); infeasible: 6 over by 2, 7 over by 1
  const points = [pt(1, 5), pt(2, 3), pt(3, 1), pt(2, 4), pt(4, 4), pt(3, 3), pt(0, 0, 2), pt(0.5, 0, 1)];
  it('domination: Pareto among feasible, feasible beats infeasible, smaller violation wins', () => {
    expect(dominates(points[1]!, points[3]!)).toBe(true); // (2,3) vs (2,4)
    expect(dominates(points[0]!, points[1]!)).toBe(false);
    expect(dominates(points[1]!, points[0]!)).toBe(false);
    expect(dominates(points[4]!, points[6]!)).toBe(true); // worst feasible beats the best-objective infeasible
    expect(dominates(points[7]!, points[6]!)).toBe(true);
    expect(dominates(points[1]!, points[1]!)).toBe(false);
  });
  it('fronts [[0,1,2],[3,5],[4],[7],[6]]', () => {
    expect(nonDominatedSort(points)).toEqual([[0, 1, 2], [3, 5], [4], [7], [6]]);
  });
  it('elitist survivors: whole fronts, then the last front by crowding (ties by index)', () => {
    expect(selectSurvivors(points, 4)).toEqual([0, 1, 2, 3]);
    expect(selectSurvivors(points, 6)).toEqual([0, 1, 2, 3, 5, 4]);
  });
});

describe('crowding distance', () => {
  it('three points: boundaries ∞, middle (3−1)/2 + (5−1)/4 = 2', () => {
    const points = [pt(1, 5), pt(2, 3), pt(3, 1)];
    expect(crowdingDistance([0, 1, 2], points)).toEqual([Infinity, 2, Infinity]);
  });
  it('four points A(1,10) B(2,7) C(4,6) D(8,1): B = 3/7 + 4/9, C = 6/7 + 6/9', () => {
    const points = [pt(1, 10), pt(2, 7), pt(4, 6), pt(8, 1)];
    const d = crowdingDistance([0, 1, 2, 3], points);
    expect(d[0]).toBe(Infinity);
    expect(d[3]).toBe(Infinity);
    expect(d[1]).toBeCloseTo(3 / 7 + 4 / 9, 12);
    expect(d[2]).toBeCloseTo(6 / 7 + 6 / 9, 12);
  });
  it('an objective without spread adds nothing: (3−1)/2 from the loss, 0 from the memory', () => {
    const d = crowdingDistance([0, 1, 2], [pt(1, 2), pt(2, 2), pt(3, 2)]);
    expect(d).toEqual([Infinity, 1, Infinity]);
  });
});

describe('repair by the cheapest downgrade', () => {
  // base bytes = 10·bits per module, adapter bytes = rank·(1 + 1)·1·1
  const memory = new MemoryModel(
    [
      { path: 'm0', inFeatures: 1, outFeatures: 1 },
      { path: 'm1', inFeatures: 1, outFeatures: 1 },
    ],
    { baseBytes: (bits) => 10 * bits, adapterBytesPerValue: 1, tensorsPerAdapterParam: 1 },
  );
  const space = { bits: [4, 8, 16], ranks: [0, 2, 4] };
  const sens = { quant: [0.9, 0.1], rank: [0.5, 0.5] };
  const plan = [
    { bits: 16, rank: 4 },
    { bits: 16, rank: 4 },
  ];
  it('memory: 2·(160 + 8) = 336 bytes', () => expect(memory.total(plan)).toBe(336));
  it('budget 260: m1 16→8 bits ((0.1+ε)/80 is the cheapest) → 256', () => {
    const r = repair(plan, 260, memory, space, sens);
    expect(r).toEqual([
      { bits: 16, rank: 4 },
      { bits: 8, rank: 4 },
    ]);
    expect(memory.total(r)).toBe(256);
  });
  it('budget 170: m1 16→8, m1 8→4 (0.1/40), then m0 16→8 (0.9/80 < 0.5/4) → 136', () => {
    const r = repair(plan, 170, memory, space, sens);
    expect(r).toEqual([
      { bits: 8, rank: 4 },
      { bits: 4, rank: 4 },
    ]);
    expect(memory.total(r)).toBe(136);
  });
  it('a plan within the budget is unchanged; an impossible budget ends at the cheapest plan', () => {
    expect(repair(plan, 336, memory, space, sens)).toEqual(plan);
    expect(repair(plan, 10, memory, space, sens)).toEqual([
      { bits: 4, rank: 0 },
      { bits: 4, rank: 0 },
    ]);
  });
});

describe('atomic neighbours', () => {
  it('one ladder step of one module’s bits or rank', () => {
    const n = atomicNeighbours([{ bits: 4, rank: 16 }], DEFAULT_SPACE);
    expect(n).toEqual([[{ bits: 8, rank: 16 }], [{ bits: 4, rank: 8 }]]);
    expect(atomicNeighbours([{ bits: 8, rank: 4 }], DEFAULT_SPACE)).toHaveLength(4);
  });
});

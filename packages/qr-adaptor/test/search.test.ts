/**
 * The search end to end on a synthetic fitness (deterministic, cheap), with the file cache: it fits the budget, is
 * no worse than any uniform plan that fits, is deterministic, and a search killed midway resumes with every cached
 * evaluation reused (evaluations counted).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  MemoryModel,
  type ModuleSpec,
  type Plan,
  planKey,
  type SearchProgress,
  searchPlans,
  uniformPlans,
} from '../src/index.js';
import { FilePlanCache } from '../src/node.js';

const modules: ModuleSpec[] = Array.from({ length: 6 }, (_, i) => ({
  path: `model.layers.${i >> 1}.self_attn.${i % 2 ? 'v' : 'q'}_proj`,
  inFeatures: 64,
  outFeatures: 64,
}));
// sensitive to quantization: modules 0 and 3; benefit from rank: 1 and 4
const wq = [1, 0.1, 0.3, 0.9, 0.05, 0.2];
const wr = [0.2, 1, 0.1, 0.3, 0.8, 0.05];
const sensitivity = { quant: wq, rank: wr };
/** A loss that falls with bits (more where wq is large) and with rank (more where wr is large). */
const syntheticLoss = (plan: Plan) =>
  3 + plan.reduce((s, c, i) => s + wq[i]! * (16 / c.bits - 1) * 0.2 + wr[i]! * 0.3 * (1 / (1 + c.rank / 4)), 0);

const memory = new MemoryModel(modules);
const all4 = memory.total(modules.map(() => ({ bits: 4, rank: 0 })));
const all16 = memory.total(modules.map(() => ({ bits: 16, rank: 16 })));
const budget = Math.round(all4 + 0.45 * (all16 - all4));

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function run(cachePath: string, evaluate: (p: Plan) => Promise<number>, onProgress?: (p: SearchProgress) => void) {
  return searchPlans({
    modules,
    budgetBytes: budget,
    sensitivity,
    evaluate,
    cache: new FilePlanCache(cachePath, 'synthetic-v1'),
    populationSize: 8,
    generations: 3,
    seed: 5,
    onProgress,
  });
}

describe('searchPlans', () => {
  it('fits the budget, beats every uniform plan that fits, reports progress with an ETA', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qr-search-'));
    dirs.push(dir);
    let calls = 0;
    const progress: SearchProgress[] = [];
    const r = await run(
      join(dir, 'cache.json'),
      async (p) => {
        calls++;
        return syntheticLoss(p);
      },
      (p) => progress.push(p),
    );
    expect(r.best.memoryBytes).toBeLessThanOrEqual(budget);
    expect(r.best.memoryBytes).toBe(memory.total(r.best.plan));
    const fitting = uniformPlans(modules.length, { bits: [4, 8, 16], ranks: [0, 2, 4, 8, 16] }).filter(
      (p) => memory.total(p) <= budget,
    );
    expect(fitting.length).toBeGreaterThan(0);
    expect(r.uniform.map((u) => u.key).sort()).toEqual(fitting.map(planKey).sort());
    for (const u of fitting) expect(r.best.loss).toBeLessThanOrEqual(syntheticLoss(u));
    // the search finds something better than the best uniform plan on this fitness
    expect(r.best.loss).toBeLessThan(Math.min(...fitting.map(syntheticLoss)));
    expect(calls).toBe(r.evaluated.length);
    expect(r.freshEvaluations).toBe(calls);
    for (let i = 1; i < r.pareto.length; i++) {
      expect(r.pareto[i]!.memoryBytes).toBeGreaterThan(r.pareto[i - 1]!.memoryBytes);
      expect(r.pareto[i]!.loss).toBeLessThan(r.pareto[i - 1]!.loss);
    }
    expect(progress.length).toBe(r.evaluated.length);
    expect(progress[0]!.etaSeconds).not.toBeNull();
    expect(progress.at(-1)!.done).toBe(r.evaluated.length);
  });

  it('killed midway, a rerun reuses every cached evaluation and ends where an uninterrupted run ends', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qr-resume-'));
    dirs.push(dir);
    const full = await run(join(dir, 'full.json'), async (p) => syntheticLoss(p));
    const total = full.evaluated.length;
    const killAt = Math.floor(total / 2);
    let calls = 0;
    const killed = join(dir, 'killed.json');
    await expect(
      run(killed, async (p) => {
        if (calls === killAt) throw new Error('killed');
        calls++;
        return syntheticLoss(p);
      }),
    ).rejects.toThrow('killed');
    expect(calls).toBe(killAt);
    let resumedCalls = 0;
    const resumed = await run(killed, async (p) => {
      resumedCalls++;
      return syntheticLoss(p);
    });
    expect(resumedCalls).toBe(total - killAt);
    expect(resumed.cachedEvaluations).toBe(killAt);
    expect(resumed.evaluated.map((e) => e.key)).toEqual(full.evaluated.map((e) => e.key));
    expect(resumed.best.key).toBe(full.best.key);
    // and once everything is cached, nothing is measured again
    let again = 0;
    await run(killed, async (p) => {
      again++;
      return syntheticLoss(p);
    });
    expect(again).toBe(0);
  });

  it('refuses a budget below the smallest plan', async () => {
    await expect(searchPlans({ modules, budgetBytes: all4 - 1, sensitivity, evaluate: async () => 1 })).rejects.toThrow(
      /below the smallest plan/,
    );
  });
});

/**
 * RankAllocator pieces against hand-computed values (reference doc §11): the cubic budget schedule, torch.kthvalue's
 * threshold, and the sensitivity/uncertainty EMAs and triplet scores in float64.
 */
import { Linear } from '@peftjs/nn';
import { tensor } from '@peftjs/tensor';
import { tree } from '@peftjs/test-utils';
import { describe, expect, it } from 'vitest';
import {
  type AdaLoraLayer,
  budgetSchedule,
  getPeftModel,
  kthSmallest,
  tripletScores,
  updateImportance,
} from '../src/index.js';

describe('budgetSchedule', () => {
  const c = { tinit: 2, tfinal: 2, total_step: 8, deltaT: 1 };
  it('init budget up to tinit, cubic decay, target after total_step − tfinal', () => {
    // init 36, target 12: step 3 → int(24·0.75³ + 12) = int(22.125) = 22; step 4 → 24·0.125 + 12 = 15;
    // step 5 → int(24·0.015625 + 12) = int(12.375) = 12; step 6 → 12; step 7 → 12 (final phase, always masks)
    const got = [0, 1, 2, 3, 4, 5, 6, 7].map((s) => budgetSchedule(s, 36, 12, c));
    expect(got.map((g) => g.budget)).toEqual([36, 36, 36, 22, 15, 12, 12, 12]);
    expect(got.map((g) => g.mask)).toEqual([false, false, false, true, true, true, true, true]);
  });
  it('masks every deltaT steps during the decay', () => {
    const d = { tinit: 0, tfinal: 0, total_step: 10, deltaT: 3 };
    expect([1, 2, 3, 4, 5, 6].map((s) => budgetSchedule(s, 20, 10, d).mask)).toEqual([
      false,
      false,
      true,
      false,
      false,
      true,
    ]);
    // step 5 of 10: int(10·0.5³ + 10) = int(11.25) = 11
    expect(budgetSchedule(5, 20, 10, d).budget).toBe(11);
  });
});

describe('kthSmallest (torch.kthvalue)', () => {
  it('k-th smallest with ties; k ≤ 0 cuts nothing', () => {
    expect(kthSmallest([3, 1, 2, 2], 1)).toBe(1);
    expect(kthSmallest([3, 1, 2, 2], 2)).toBe(2);
    expect(kthSmallest([3, 1, 2, 2], 3)).toBe(2);
    expect(kthSmallest([3, 1, 2, 2], 4)).toBe(3);
    expect(kthSmallest([3, 1], 0)).toBe(Number.NEGATIVE_INFINITY);
    expect(() => kthSmallest([1], 2)).toThrow(RangeError);
  });
});

describe('importance EMAs and triplet scores', () => {
  it('match a float64 computation of Ī, Ū and S(E)+mean S(A)+mean S(B) over two updates', async () => {
    const IN = 3;
    const OUT = 2;
    const R = 2;
    const net = tree({ proj: new Linear(IN, OUT) });
    const peft = getPeftModel(net, {
      peft_type: 'ADALORA',
      init_r: R,
      target_r: 1,
      total_step: 10,
      target_modules: ['proj'],
    });
    const layer = net.at('proj') as AdaLoraLayer;
    const b1 = 0.85;
    const b2 = 0.7;
    const vals = {
      A: [0.5, -1, 2, 0.25, 1.5, -0.75],
      B: [1, -2, 0.5, 3],
      E: [0.3, -0.6],
    };
    const grads = [
      { A: [0.1, 0.2, -0.3, 0.4, -0.5, 0.6], B: [0.7, -0.8, 0.9, 1.0], E: [-1.1, 1.2] },
      { A: [-0.2, 0.1, 0.4, -0.3, 0.6, 0.5], B: [-0.1, 0.3, 0.2, -0.4], E: [0.5, 0.25] },
    ];
    const shapes = { A: [R, IN], B: [OUT, R], E: [R, 1] } as const;
    for (const k of ['A', 'B', 'E'] as const)
      layer.replaceParameter(`lora_${k}`, 'default', tensor(vals[k], [...shapes[k]]));
    const ema = { A: [0, 0, 0, 0, 0, 0], B: [0, 0, 0, 0], E: [0, 0] } as Record<'A' | 'B' | 'E', number[]>;
    const unc = { A: [0, 0, 0, 0, 0, 0], B: [0, 0, 0, 0], E: [0, 0] } as Record<'A' | 'B' | 'E', number[]>;
    const layers = [['proj', layer] as [string, AdaLoraLayer]];
    for (const g of grads) {
      for (const k of ['A', 'B', 'E'] as const) {
        const p = (layer as unknown as Record<string, (a: string) => import('@peftjs/tensor').Tensor>)[`lora${k}`](
          'default',
        );
        p.grad?.dispose();
        p.grad = tensor(g[k], [...shapes[k]]);
        for (let i = 0; i < vals[k].length; i++) {
          const ipt = Math.abs(vals[k][i] * g[k][i]);
          ema[k][i] = b1 * ema[k][i] + (1 - b1) * ipt;
          unc[k][i] = b2 * unc[k][i] + (1 - b2) * Math.abs(ipt - ema[k][i]);
        }
      }
      updateImportance(layers, 'default', b1, b2);
    }
    const s = (k: 'A' | 'B' | 'E', i: number) => ema[k][i] * unc[k][i];
    const ref = [0, 1].map((i) => {
      const a = (s('A', i * IN) + s('A', i * IN + 1) + s('A', i * IN + 2)) / IN; // row i of A [R, IN]
      const b = (s('B', i) + s('B', R + i)) / OUT; // column i of B [OUT, R]
      return s('E', i) + (a + b);
    });
    const [got] = await tripletScores(layers, 'default');
    expect(got.path).toBe('proj');
    for (let i = 0; i < R; i++) expect(Math.abs(got.scores[i] - ref[i]) / Math.abs(ref[i])).toBeLessThan(1e-5);
    peft.dispose();
  });
});

import { describe, expect, it } from 'vitest';
import { makePlanFile, parsePlanFile, planBits, planToLoraConfig } from '../src/index.js';

const modules = ['a.q_proj', 'a.v_proj', 'b.q_proj', 'b.v_proj'].map((path) => ({
  path,
  inFeatures: 8,
  outFeatures: 8,
}));

describe('plan files', () => {
  it('realise as LoRA with rank_pattern / alpha_pattern (most common rank as r, rank 0 untargeted)', () => {
    const f = makePlanFile(
      modules,
      [
        { bits: 4, rank: 8 },
        { bits: 8, rank: 4 },
        { bits: 16, rank: 0 },
        { bits: 4, rank: 8 },
      ],
      { memoryBytes: 1, budgetBytes: 2, calibrationLoss: 3 },
    );
    expect(planToLoraConfig(f)).toEqual({
      peft_type: 'LORA',
      r: 8,
      lora_alpha: 16,
      lora_dropout: 0,
      target_modules: ['a.q_proj', 'a.v_proj', 'b.v_proj'],
      rank_pattern: { 'a.v_proj': 4 },
      alpha_pattern: { 'a.v_proj': 8 },
    });
    expect(planBits(f)).toEqual({ 'a.q_proj': 4, 'a.v_proj': 8, 'b.q_proj': 16, 'b.v_proj': 4 });
    expect(parsePlanFile(JSON.parse(JSON.stringify(f)))).toEqual(f);
  });
  it('refuses malformed files', () => {
    expect(() => parsePlanFile({ format: 'x' })).toThrow(/not a QR-Adaptor plan/);
    expect(() =>
      parsePlanFile({ format: 'peftjs-qr-adaptor-plan', version: 1, modules: [{ path: 'a', bits: 4, rank: -1 }] }),
    ).toThrow(/modules\[0\]/);
    const f = makePlanFile(modules.slice(0, 1), [{ bits: 4, rank: 0 }], {
      memoryBytes: 1,
      budgetBytes: 1,
      calibrationLoss: 1,
    });
    expect(() => planToLoraConfig(f)).toThrow(/adapts no module/);
  });
});

import '@peftjs/lora';
import { LlamaForCausalLM } from '@peftjs/models';
import { manualSeed } from '@peftjs/tensor';
import { describe, expect, it } from 'vitest';
import {
  type ComparisonResult,
  compareMethods,
  comparisonFromJSON,
  comparisonToJSON,
  defaultMethodConfig,
  formatComparisonTable,
} from '../src/index.js';
import { TINY_LLAMA, tinyData } from './helpers/tiny.js';

const makeModel = () => {
  manualSeed(99);
  return new LlamaForCausalLM(TINY_LLAMA);
};

// Hand-computed for TINY_LLAMA (hidden 32, intermediate 48, 2 layers, 4 heads × 8, 2 KV heads → k/v out 16).
// LoRA adds r·(in + out) per adapted Linear(in, out).
const QV_R4 = 2 * (4 * (32 + 32) + 4 * (32 + 16)); // q + v, 2 layers = 896
const ALL_R2 = 2 * 2 * (32 + 32 + (32 + 16) * 2 + (32 + 32) + (32 + 48) * 2 + (48 + 32)); // q k v o gate up down = 1856
// embed 48·32 + 2 × (q 32·32, k 32·16, v 32·16, o 32·32, gate/up/down 3 × 32·48, 2 norms × 32) + final norm + lm_head 48·32
const BASE = 48 * 32 + 2 * (1024 + 512 + 512 + 1024 + 3 * 1536 + 64) + 32 + 48 * 32;

const methods = [
  { name: 'lora-qv-r4', config: { peft_type: 'LORA', r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'] } },
  { name: 'lora-all-r2', config: defaultMethodConfig('lora', { r: 2, dropout: 0 }) },
];

async function run(ms = methods): Promise<ComparisonResult> {
  return compareMethods({
    makeModel,
    methods: ms,
    train: tinyData(24, 12),
    eval: tinyData(8, 12, { offset: 3 }),
    trainerOptions: { optimizer: 'adamw', lr: 1e-2, batchSize: 4, maxSteps: 4, seed: 5, progress: false },
  });
}

describe('compareMethods', () => {
  it('trains each method from a fresh base with the same budget and reports its cost and quality', async () => {
    const events: string[] = [];
    const result = await compareMethods({
      makeModel,
      methods,
      train: tinyData(24, 12),
      eval: tinyData(8, 12, { offset: 3 }),
      trainerOptions: { optimizer: 'adamw', lr: 1e-2, batchSize: 4, maxSteps: 4, seed: 5, progress: false },
      onProgress: (e) => events.push(`${e.method}:${e.phase}`),
    });
    expect(result.methods.map((m) => m.name)).toEqual(['lora-qv-r4', 'lora-all-r2']);
    const [a, b] = result.methods;
    expect(a.trainableParams).toBe(QV_R4);
    expect(b.trainableParams).toBe(ALL_R2);
    expect(a.totalParams).toBe(BASE + QV_R4);
    expect(b.totalParams).toBe(BASE + ALL_R2);
    expect(a.trainablePercent).toBeCloseTo((100 * QV_R4) / (BASE + QV_R4), 10);
    for (const m of result.methods) {
      expect(m.peftType).toBe('LORA');
      expect(m.steps).toBe(4);
      expect(m.lossCurve.map((p) => p.step)).toEqual([1, 2, 3, 4]);
      expect(m.evalCurve.at(-1)?.step).toBe(4);
      expect(m.trainSeconds).toBeGreaterThan(0);
      expect(m.tokensPerSecond).toBeGreaterThan(0);
      expect(m.peakTensorBytes).toBeGreaterThan(0);
      expect(m.peakRssBytes).toBeGreaterThan(0);
      // the safetensors file: every trainable float32 plus a JSON header (a few hundred bytes per tensor at most)
      expect(m.adapterFileBytes).toBeGreaterThan(4 * m.trainableParams);
      expect(m.adapterFileBytes).toBeLessThan(4 * m.trainableParams + 16_384);
      expect(Number.isFinite(m.final.loss)).toBe(true);
      expect(m.final.perplexity).toBeCloseTo(Math.exp(m.final.loss), 6);
      expect(m.final.accuracy).toBeGreaterThanOrEqual(0);
      expect(m.final.loss).toBeLessThan(result.baseline!.loss);
    }
    // Same base weights, same data order, zero-initialised B: the first step's loss is the base model's for both.
    expect(a.lossCurve[0].loss).toBe(b.lossCurve[0].loss);
    expect(result.baseline!.perplexity).toBeCloseTo(Math.exp(result.baseline!.loss), 6);
    expect(result.budget).toMatchObject({ optimizer: 'adamw', lr: 1e-2, batchSize: 4, maxSteps: 4, seed: 5 });
    expect(events[0]).toBe('lora-qv-r4:baseline');
    expect(events).toContain('lora-all-r2:done');
    expect(events.filter((e) => e.endsWith(':step')).length).toBe(8);
  });

  it('is reproducible: the same method twice gives the same curve (fresh base, same seed)', async () => {
    const r = await run([methods[0], { ...methods[0], name: 'again' }]);
    expect(r.methods[1].lossCurve).toEqual(r.methods[0].lossCurve);
    expect(r.methods[1].final).toEqual(r.methods[0].final);
  });

  it('formats an aligned table holding the counts, and round-trips through JSON', async () => {
    const result = await run();
    const table = formatComparisonTable(result);
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^base model \(no adapter\): loss /);
    expect(lines[1]).toMatch(/^method\s+peft_type\s+trainable\s+total\s+trainable%\s+adapter file\s+base weights/);
    expect(lines[2]).toMatch(/^-+( +-+)+$/);
    expect(lines[3]).toContain('lora-qv-r4');
    expect(lines[3]).toContain(QV_R4.toLocaleString('en-US'));
    expect(lines[4]).toContain(ALL_R2.toLocaleString('en-US'));
    expect(lines[4]).toContain((BASE + ALL_R2).toLocaleString('en-US'));
    // aligned: every row is as long as the header row or shorter only by trailing spaces trimmed; columns line up
    const ends = (l: string) => [...l.matchAll(/\S+(?= {2}|$)/g)].map((m) => (m.index ?? 0) + m[0].length);
    expect(ends(lines[3]).slice(2)).toEqual(ends(lines[1]).slice(2));
    expect(ends(lines[4]).slice(2)).toEqual(ends(lines[1]).slice(2));

    const json = comparisonToJSON(result);
    const parsed = JSON.parse(json);
    expect(parsed.format).toBe('peftjs-comparison');
    expect(comparisonFromJSON(json)).toEqual(result);
  });

  it('rejects bad input', async () => {
    const base = { makeModel, train: tinyData(4, 8), eval: tinyData(2, 8), trainerOptions: { maxSteps: 1 } };
    await expect(compareMethods({ ...base, methods: [] })).rejects.toThrow(/no methods/);
    await expect(compareMethods({ ...base, methods: [{ name: 'x', config: {} }] })).rejects.toThrow(/no peft_type/);
    await expect(compareMethods({ ...base, methods: [methods[0], methods[0]] })).rejects.toThrow(/twice/);
    await expect(compareMethods({ ...base, eval: [], methods })).rejects.toThrow(/evaluation set is empty/);
  });
});

describe('comparisonToJSON', () => {
  it('writes non-finite numbers as null and reads them back as NaN', () => {
    const r: ComparisonResult = {
      baseline: { loss: Number.NaN, perplexity: Number.POSITIVE_INFINITY, accuracy: null },
      methods: [],
      budget: {},
      createdAt: '2026-01-01T00:00:00.000Z',
    };
    const text = comparisonToJSON(r);
    expect(JSON.parse(text).baseline).toEqual({ loss: null, perplexity: null, accuracy: null });
    expect(comparisonFromJSON(text).baseline?.loss).toBeNaN();
    expect(() => comparisonFromJSON('{"a":1}')).toThrow(/not a peftjs comparison/);
  });
});

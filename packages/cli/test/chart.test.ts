import type { ComparisonResult, MethodResult } from '@peftjs/trainer';
import { XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { comparisonChartSVG } from '../src/index.js';

function method(name: string, trainable: number, ppl: number, steps = 12): MethodResult {
  const lossCurve = Array.from({ length: steps }, (_, i) => ({
    step: i + 1,
    loss: 2 - i * 0.05 + (name.length % 3) * 0.01,
  }));
  return {
    name,
    peftType: 'LORA',
    config: { peft_type: 'LORA' },
    trainableParams: trainable,
    totalParams: 1e6 + trainable,
    trainablePercent: (100 * trainable) / (1e6 + trainable),
    steps,
    trainSeconds: 1,
    tokensPerSecond: 1000,
    peakTensorBytes: 1e6,
    peakRssBytes: 1e8,
    final: { loss: Math.log(ppl), perplexity: ppl, accuracy: 0.5 },
    lossCurve,
    evalCurve: [{ step: steps, loss: Math.log(ppl) }],
    stoppedReason: 'completed',
  };
}

describe('comparisonChartSVG', () => {
  it('draws one loss line per method and one point per finite perplexity, as well-formed SVG', async () => {
    const result: ComparisonResult = {
      baseline: { loss: Math.log(7), perplexity: 7, accuracy: 0.4 },
      methods: [method('lora', 74_000, 5.9), method('dora', 79_000, 5.8), method('lora-r2', 18_000, Number.NaN)],
      budget: { optimizer: 'adamw', lr: 0.003, maxSteps: 12, seed: 42 },
      createdAt: '2026-01-01T00:00:00.000Z',
    };
    const svg = await comparisonChartSVG(result);
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<g class="mark-line role-mark loss_curves_marks"[^>]*>\s*<path /g)?.length).toBe(3);
    const points = svg.match(/<g class="mark-symbol role-mark quality_points_marks"[^>]*>(.*?)<\/g>/s)?.[1] ?? '';
    expect(points.match(/<path /g)?.length).toBe(2); // the NaN perplexity is left out
    expect(svg).toContain('base model 7.00');
    expect(svg).toContain('lr 0.003');
  });
});

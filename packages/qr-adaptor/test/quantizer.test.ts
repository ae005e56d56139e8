/** The stand-in quantizer gives the values bitsandbytes dequantizes to (golden quant/* cases, bitsandbytes 0.50). */
import { join } from 'node:path';
import { Linear } from '@peftjs/nn';
import { goldenRoot, readF32 } from '@peftjs/test-utils';
import { describe, expect, it } from 'vitest';
import { int8RoundTrip, nf4RoundTrip, simulatedQuantizer, toFloat16 } from '../src/index.js';

function rel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return m / s;
}

describe('simulated quantizer', () => {
  for (const c of ['nf4_b64', 'nf4_ragged']) {
    it(`NF4 values = bitsandbytes dequantize_4bit (${c})`, () => {
      const io = readF32(join(goldenRoot(), 'quant', c, 'io.safetensors'));
      const got = nf4RoundTrip(Float32Array.from(io.input!.data), 64);
      expect(rel(got, io.dequantized!.data)).toBeLessThanOrEqual(1e-6);
    });
  }
  it('int8 values = bitsandbytes LLM.int8 row-wise dequantized', () => {
    const io = readF32(join(goldenRoot(), 'quant', 'int8_rowwise', 'io.safetensors'));
    const [rows, cols] = io.input!.shape as [number, number];
    const got = int8RoundTrip(Float32Array.from(io.input!.data), rows, cols);
    expect(rel(got, io.dequantized!.data)).toBeLessThanOrEqual(1e-6);
  });
  it('float16 rounding: exact values, ties to even, subnormals', () => {
    expect(toFloat16(1)).toBe(1);
    expect(toFloat16(1 + 2 ** -11)).toBe(1); // tie → even
    expect(toFloat16(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9);
    expect(toFloat16(0.1)).toBe(0.0999755859375);
    expect(toFloat16(2 ** -24)).toBe(2 ** -24);
    expect(toFloat16(-65504)).toBe(-65504);
  });
  it('quantize(): a frozen dense layer with those values and the bias kept', async () => {
    const l = new Linear(64, 3);
    const q = simulatedQuantizer.quantize(l, 4) as Linear;
    expect([...(await q.param('weight').data())]).toEqual([
      ...nf4RoundTrip(l.param('weight').dataSync() as Float32Array),
    ]);
    expect([...(await q.param('bias').data())]).toEqual([...(l.param('bias').dataSync() as Float32Array)]);
    expect(q.param('weight').requiresGrad).toBe(false);
    expect(() => simulatedQuantizer.quantize(l, 3)).toThrow(/bits must be/);
  });
});

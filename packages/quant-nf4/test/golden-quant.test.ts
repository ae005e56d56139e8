import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { goldenRoot } from '@peftjs/test-utils';
import { describe, expect, it } from 'vitest';
import {
  blockAbsmax,
  code4bit,
  DYNAMIC_CODE,
  dequantize4bit,
  dequantizeInt8,
  type QuantType4bit,
  quantize4bit,
  quantizeInt8Rowwise,
} from '../src/index.js';
import { countDiff, goldenMeta, maxRelErr, readGolden } from './golden-util.js';

const cases = readdirSync(join(goldenRoot(), 'quant')).sort();

describe('golden quant/* (bitsandbytes 0.50)', () => {
  it('has the cases', () => expect(cases.length).toBeGreaterThanOrEqual(7));
  for (const name of cases.filter((c) => c !== 'int8_rowwise')) {
    it(name, async () => {
      const meta = goldenMeta(`quant/${name}`) as {
        shape: number[];
        quant_type: QuantType4bit;
        blocksize: number;
        double_quant: boolean;
      };
      const g = await readGolden(`quant/${name}/io.safetensors`);
      const input = g.input.data as Float32Array;
      const q = quantize4bit(input, meta.shape, {
        quantType: meta.quant_type,
        blocksize: meta.blocksize,
        doubleQuant: meta.double_quant,
      });
      expect([...code4bit(meta.quant_type)]).toEqual([...(g.code.data as Float32Array)]);
      expect(g.packed.shape).toEqual([q.packed.length, 1]);
      expect(countDiff(q.packed, g.packed.data)).toBe(0);
      if (meta.double_quant) {
        expect([...DYNAMIC_CODE]).toEqual([...(g.nested_code.data as Float32Array)]);
        expect(maxRelErr([q.nested!.offset], g.offset.data)).toBeLessThanOrEqual(1e-6);
        expect(countDiff(q.nested!.codes, g.absmax_u8.data)).toBe(0);
        expect(maxRelErr(q.nested!.absmax, g.nested_absmax.data)).toBeLessThanOrEqual(1e-6);
      }
      expect(maxRelErr(blockAbsmax(q), g.absmax.data)).toBeLessThanOrEqual(1e-6);
      expect(maxRelErr(dequantize4bit(q), g.dequantized.data)).toBeLessThanOrEqual(1e-6);
      // dequantizing bitsandbytes' own bytes gives its values bit for bit
      const theirs = dequantize4bit({ ...q, packed: g.packed.data as Uint8Array });
      expect(maxRelErr(theirs, g.dequantized.data)).toBeLessThanOrEqual(1e-6);
    });
  }
  it('int8_rowwise', async () => {
    const g = await readGolden('quant/int8_rowwise/io.safetensors');
    const [rows, cols] = g.input.shape;
    const q = quantizeInt8Rowwise(g.input.data as Float32Array, rows, cols);
    expect(countDiff(q.weight, g.weight_int8.data)).toBe(0);
    expect(maxRelErr(q.scb, g.SCB.data)).toBeLessThanOrEqual(1e-6);
    expect(maxRelErr(dequantizeInt8(q), g.dequantized.data)).toBeLessThanOrEqual(1e-6);
  });
});

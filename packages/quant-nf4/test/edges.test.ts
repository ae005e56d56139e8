import { readFileSync } from 'node:fs';
import { SafetensorsReader } from '@peftjs/safetensors';
import { describe, expect, it } from 'vitest';
import {
  blockAbsmax,
  dequantize4bit,
  dequantizeInt8,
  QuantizationError,
  type QuantType4bit,
  quantize4bit,
  quantizeInt8Rowwise,
} from '../src/index.js';
import { countDiff, maxRelErr } from './golden-util.js';

// made by scripts/make_edge_fixtures.py from bitsandbytes' reference kernels
const bytes = new Uint8Array(readFileSync(new URL('./fixtures/edges.safetensors', import.meta.url)));
const reader = SafetensorsReader.fromBytes(bytes);
const meta = JSON.parse(reader.metadata?.cases ?? '{}') as Record<
  string,
  { kind: string; shape: number[]; quant_type: QuantType4bit; blocksize: number; double_quant: boolean }
>;
async function get(name: string): Promise<ArrayLike<number> & { length: number }> {
  const raw = await reader.raw(name);
  const b = raw.bytes.slice();
  return raw.dtype === 'F32' ? new Float32Array(b.buffer) : raw.dtype === 'I8' ? new Int8Array(b.buffer) : b;
}

describe('edge cases vs bitsandbytes', () => {
  it('has the cases', () => expect(Object.keys(meta).length).toBe(9));
  for (const [name, m] of Object.entries(meta)) {
    if (m.kind !== '4bit') continue;
    it(`${name} (${m.quant_type}, blocksize ${m.blocksize}${m.double_quant ? ', double quant' : ''})`, async () => {
      const q = quantize4bit((await get(`${name}.input`)) as Float32Array, m.shape, {
        quantType: m.quant_type,
        blocksize: m.blocksize,
        doubleQuant: m.double_quant,
      });
      expect(countDiff(q.packed, await get(`${name}.packed`))).toBe(0);
      if (m.double_quant) {
        expect(countDiff(q.nested!.codes, await get(`${name}.absmax_u8`))).toBe(0);
        expect(maxRelErr(q.nested!.absmax, await get(`${name}.nested_absmax`))).toBeLessThanOrEqual(1e-6);
        expect(maxRelErr([q.nested!.offset], await get(`${name}.offset`))).toBeLessThanOrEqual(1e-6);
      }
      expect(maxRelErr(blockAbsmax(q), await get(`${name}.absmax`))).toBeLessThanOrEqual(1e-6);
      expect(maxRelErr(dequantize4bit(q), await get(`${name}.dequantized`))).toBeLessThanOrEqual(1e-6);
    });
  }
  it('int8 rows: zero row, outlier, rounding ties', async () => {
    const q = quantizeInt8Rowwise((await get('int8_rows.input')) as Float32Array, 6, 10);
    expect(countDiff(q.weight, await get('int8_rows.weight_int8'))).toBe(0);
    expect(maxRelErr(q.scb, await get('int8_rows.SCB'))).toBeLessThanOrEqual(1e-6);
    const d = dequantizeInt8(q);
    expect(d.slice(20, 30).every((v) => v === 0)).toBe(true);
  });
});

describe('quantize4bit by hand', () => {
  it('the worked example of the reference (blocksize 32 holds the 8 values)', () => {
    const a = Float32Array.from([-0.8, -0.5, -0.2, 0.1, 0.4, 0.7, -0.7, -0.4]);
    const q = quantize4bit(a, [8], { quantType: 'nf4', blocksize: 32 });
    expect([...q.packed]).toEqual([0x01, 0x49, 0xcf, 0x02]);
    expect(q.absmax![0]).toBe(Math.fround(0.8));
    const d = dequantize4bit(q);
    const want = [-0.8, -0.556954, -0.227553, 0.128744, 0.352568, 0.8, -0.8, -0.420058];
    for (let i = 0; i < 8; i++) expect(d[i]).toBeCloseTo(want[i], 5);
  });
  it('odd count: one padding code in the low nibble of the last byte (NF4 code 7)', () => {
    const q = quantize4bit(Float32Array.from([1, -1, 1]), [3], { blocksize: 32 });
    expect([...q.packed]).toEqual([0xf0, 0xf7]);
  });
  it('refuses unknown types, block sizes and shapes', () => {
    const x = new Float32Array(64);
    expect(() => quantize4bit(x, [64], { blocksize: 48 })).toThrow(QuantizationError);
    expect(() => quantize4bit(x, [64], { blocksize: 16 })).toThrow(/blocksize/);
    expect(() => quantize4bit(x, [64], { quantType: 'int4' as QuantType4bit })).toThrow(/quant type/);
    expect(() => quantize4bit(x, [8, 9])).toThrow(QuantizationError);
    expect(() => quantizeInt8Rowwise(x, 3, 3)).toThrow(QuantizationError);
  });
});

import { describe, expect, it } from 'vitest';
import type { SafetensorsDType } from '../src/index.js';
import { compareCodePoints, planSafetensors, SafetensorsReader, serialize } from '../src/index.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('canonical layout (same bytes as the reference Rust/Python writer)', () => {
  it('matches the reference implementation test vectors byte for byte', () => {
    // huggingface/safetensors tensor.rs test_serialization: "attn.0" F32 [1,2,3] = 0..5
    const out = serialize({ 'attn.0': { shape: [1, 2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) } });
    expect(Array.from(out)).toEqual([
      64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34,
      70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95,
      111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0,
      64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
    ]);
    // test_serialization_forced_alignement: "attn0" [1,1,2,3] → header padded with 7 spaces
    const out2 = serialize({ attn0: { shape: [1, 1, 2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) } });
    expect(out2.length).toBe(8 + 72 + 24);
    expect(Array.from(out2.subarray(0, 8))).toEqual([72, 0, 0, 0, 0, 0, 0, 0]);
    expect(text(out2.subarray(8, 80))).toBe(`{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       `);
    // test_empty
    expect(Array.from(serialize({}))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    expect(Array.from(serialize({}, { framework: 'pt' }))).toEqual([
      40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95, 95, 34, 58, 123, 34, 102, 114,
      97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112, 116, 34, 125, 125, 32, 32, 32, 32, 32,
    ]);
  });

  it('sorts by dtype alignment (descending) then name; offsets contiguous from 0; header padded to 8', () => {
    const dtypes: SafetensorsDType[] = [
      'BOOL',
      'U8',
      'I8',
      'I16',
      'U16',
      'F16',
      'BF16',
      'I32',
      'U32',
      'F32',
      'F64',
      'I64',
      'U64',
    ];
    const tensors: Record<string, { dtype: SafetensorsDType; shape: number[]; data: number[] }> = {};
    // insert in scrambled order
    for (const [i, d] of [...dtypes].reverse().entries()) {
      tensors[`z${i}`] = { dtype: d, shape: [3], data: [0, 1, 0] };
      tensors[`a${i}`] = { dtype: d, shape: [1], data: [1] };
    }
    const plan = planSafetensors(
      Object.entries(tensors).map(([name, t]) => ({
        name,
        dtype: t.dtype,
        shape: t.shape,
        bytes: () => new Uint8Array(0),
      })),
    );
    const order = plan.tensors.map((t) => t.dtype);
    expect(order).toEqual(
      ['U64', 'I64', 'F64', 'F32', 'U32', 'I32', 'BF16', 'F16', 'U16', 'I16', 'I8', 'U8', 'BOOL'].flatMap((d) => [
        d,
        d,
      ]),
    );
    for (let i = 0; i < plan.tensors.length; i += 2) {
      expect(plan.tensors[i]!.name < plan.tensors[i + 1]!.name).toBe(true);
    }
    let at = 0;
    for (const t of plan.tensors) {
      expect(t.dataOffsets[0]).toBe(at);
      at = t.dataOffsets[1];
    }
    expect(plan.header.length % 8).toBe(0);
    const n = Number(new DataView(plan.header.buffer).getBigUint64(0, true));
    expect(n).toBe(plan.header.length - 8);
    const json = text(plan.header.subarray(8));
    expect(json.trimEnd().endsWith('}')).toBe(true);
    expect(/^ *$/.test(json.slice(json.trimEnd().length))).toBe(true);
    // the header's key order is the file order
    expect(Object.keys(JSON.parse(json))).toEqual(plan.tensors.map((t) => t.name));
  });

  it('__metadata__ comes first with sorted keys; names with quotes, unicode and control characters survive', () => {
    const names = ['quote"d', 'back\\slash', 'tab\there', 'ünïcødé', '😀 emoji', '', 'nl\n', '\u0001'];
    const tensors = Object.fromEntries(names.map((n, i) => [n, { shape: [1], data: [i] }]));
    const bytes = serialize(tensors, { zeta: '1', alpha: 'x"y', mid: 'ü' });
    const json = text(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))));
    expect(json.startsWith('{"__metadata__":{"alpha":"x\\"y","mid":"ü","zeta":"1"},')).toBe(true);
    expect(json).toContain('"\\u0001":');
    const r = SafetensorsReader.fromBytes(bytes, { strict: true });
    expect(r.metadata).toEqual({ zeta: '1', alpha: 'x"y', mid: 'ü' });
    expect([...r.names()].sort()).toEqual([...names].sort());
    for (const [i, n] of names.entries()) expect(r.readSync(n).data[0]).toBe(i);
    // names in code point (UTF-8 byte) order
    expect(r.names()).toEqual([...names].sort(compareCodePoints));
  });

  it('compareCodePoints orders like UTF-8 bytes (astral characters after U+FFFF)', () => {
    const enc = new TextEncoder();
    const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(enc.encode(a)), Buffer.from(enc.encode(b)));
    const words = ['a', 'b', 'ab', '', '\uffff', '😀', '\ue000', 'z\u00ff', 'z\u0100', '𝔸x', '𝔸'];
    expect([...words].sort(compareCodePoints)).toEqual([...words].sort(byBytes));
  });

  it('round trip: load → save → load gives identical tensors and bytes', () => {
    const orig = serialize(
      {
        w: { shape: [2, 3], data: new Float32Array([1, -2, 3.5, 1e-8, 0, -0]) },
        ids: { shape: [3], data: new BigInt64Array([1n, -2n, 3n]) },
        mask: { dtype: 'BOOL', shape: [3], data: [true, false, true] },
        h: { dtype: 'F16', shape: [2], data: [0.5, -1024] },
        s: { shape: [], data: [42] },
        e: { shape: [0, 4], data: [] },
      },
      { format: 'pt' },
    );
    const r1 = SafetensorsReader.fromBytes(orig, { strict: true });
    const again = serialize(Object.fromEntries(r1.names().map((n) => [n, r1.rawSync(n)])), r1.metadata);
    expect(again).toEqual(orig);
    const r2 = SafetensorsReader.fromBytes(again);
    for (const n of r1.names()) {
      expect(r2.info(n)).toEqual(r1.info(n));
      expect(r2.readSync(n)).toEqual(r1.readSync(n));
    }
    expect(r1.info('s').shape).toEqual([]);
    expect(r1.readSync('s').data).toEqual(new Float32Array([42]));
    expect(r1.info('e').byteLength).toBe(0);
    // Map input gives the same bytes as a record
    const viaMap = serialize(new Map(r1.names().map((n) => [n, r1.rawSync(n)])), { format: 'pt' });
    expect(viaMap).toEqual(orig);
  });

  it('accepts a tensor named __proto__ (no prototype pollution)', () => {
    const rec = Object.defineProperty({}, '__proto__', {
      value: { shape: [1], data: [7] },
      enumerable: true,
    }) as Record<string, { shape: number[]; data: number[] }>;
    const r = SafetensorsReader.fromBytes(serialize(rec));
    expect(r.names()).toEqual(['__proto__']);
    expect(r.readSync('__proto__').data[0]).toBe(7);
    expect(({} as Record<string, unknown>).shape).toBeUndefined();
  });
});

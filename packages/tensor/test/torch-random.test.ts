import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MT19937, RANDPERM_SMALL_LIMIT, torchRandperm } from '../src/index.js';

interface Case {
  n: number;
  seed: number;
  perm?: number[];
  head?: number[];
  tail?: number[];
  sha256?: string;
}
// Made by test/fixtures/make_randperm.py with torch 2.13 (CPU).
const fixture = JSON.parse(readFileSync(new URL('./fixtures/randperm.json', import.meta.url), 'utf8')) as {
  cases: Case[];
  threshold: { n: number; seed: number; head: number[] }[];
};

describe('MT19937 (torch.Generator)', () => {
  it('matches the reference outputs for seeds 777 and 0', () => {
    const g = new MT19937(777);
    expect(Array.from({ length: 5 }, () => g.nextUint32())).toEqual([
      655685735, 2776480559, 1298611771, 862112678, 266444375,
    ]);
    expect(new MT19937(0).nextUint32()).toBe(2357136044);
  });
  it('keeps the low 32 bits of the seed, as torch does', () => {
    const a = new MT19937(2 ** 32 + 5);
    const b = new MT19937(5);
    for (let i = 0; i < 700; i++) expect(a.nextUint32()).toBe(b.nextUint32());
  });
  it('rejects a seed that is not a safe integer', () => {
    expect(() => new MT19937(1.5)).toThrow(RangeError);
  });
});

describe('torchRandperm', () => {
  it.each(fixture.cases.map((c) => [c.n, c.seed, c] as const))('n = %i, seed %i matches torch', (n, seed, c) => {
    const perm = torchRandperm(n, seed);
    expect(perm.length).toBe(n);
    if (c.perm) {
      expect(Array.from(perm)).toEqual(c.perm);
      return;
    }
    expect(Array.from(perm.subarray(0, 32))).toEqual(c.head);
    expect(Array.from(perm.subarray(n - 8))).toEqual(c.tail);
    const bytes = new Uint8Array(perm.buffer, perm.byteOffset, perm.byteLength); // little-endian int32
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(c.sha256);
  });

  it('the first count entries equal the prefix of the full permutation', () => {
    for (const [n, count] of [
      [4097, 10],
      [65536, 1],
      [1000, 999],
      [7, 0],
    ] as const) {
      const full = torchRandperm(n, 777);
      expect(Array.from(torchRandperm(n, 777, count))).toEqual(Array.from(full.subarray(0, count)));
    }
  });

  it('matches the reference values for n = 1536, seed 777', () => {
    expect(Array.from(torchRandperm(1536, 777, 10))).toEqual([1127, 190, 1005, 1004, 471, 296, 483, 964, 1071, 1057]);
  });

  it('matches torch on both sides of the algorithm switch at UINT32_MAX / 20', () => {
    expect(RANDPERM_SMALL_LIMIT).toBe(214748364);
    expect(fixture.threshold.map((c) => c.n)).toEqual([RANDPERM_SMALL_LIMIT - 1, RANDPERM_SMALL_LIMIT]);
    for (const c of fixture.threshold) {
      expect(Array.from(torchRandperm(c.n, c.seed, c.head.length))).toEqual(c.head);
    }
  }, 300_000); // the inside-out side replays all 214,748,364 steps

  it('rejects bad sizes', () => {
    expect(() => torchRandperm(-1, 0)).toThrow(RangeError);
    expect(() => torchRandperm(2 ** 31, 0)).toThrow(RangeError);
    expect(() => torchRandperm(4, 0, 5)).toThrow(RangeError);
    expect(torchRandperm(0, 0).length).toBe(0);
  });
});

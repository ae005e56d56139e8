import { describe, expect, it } from 'vitest';
import { chunkTokens, collate, disposeBatch, shuffledOrder } from '../src/index.js';

describe('chunkTokens', () => {
  const ids = Array.from({ length: 10 }, (_, i) => i);
  it('cuts into full chunks and drops the remainder (group_texts)', () => {
    expect(chunkTokens(ids, 4).map((e) => [...e.inputIds])).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
  });
  it('keeps the remainder, overlaps with a stride', () => {
    expect(chunkTokens(ids, 4, { keepLast: true }).map((e) => [...e.inputIds])).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    expect(chunkTokens(ids, 4, { stride: 3 }).map((e) => [...e.inputIds])).toEqual([
      [0, 1, 2, 3],
      [3, 4, 5, 6],
      [6, 7, 8, 9],
    ]);
    expect(() => chunkTokens(ids, 0)).toThrow(RangeError);
  });
});

describe('collate', () => {
  it('pads on the right: mask 0 and label -100 on padding, targets counted after the shift', async () => {
    const b = collate([[5, 6, 7], { inputIds: [8, 9] }, [1]], { padId: 3 });
    expect(b.inputIds.dtype).toBe('i32');
    expect(await b.inputIds.toArray()).toEqual([
      [5, 6, 7],
      [8, 9, 3],
      [1, 3, 3],
    ]);
    expect(await b.attentionMask.toArray()).toEqual([
      [1, 1, 1],
      [1, 1, 0],
      [1, 0, 0],
    ]);
    expect(await b.labels.toArray()).toEqual([
      [5, 6, 7],
      [8, 9, -100],
      [1, -100, -100],
    ]);
    expect(b.size).toBe(3);
    expect(b.tokens).toBe(6);
    expect(b.targets).toBe(3); // 6,7 | 9 | none
    disposeBatch(b);
  });

  it('pads on the left, keeps explicit labels, truncates to a fixed length', async () => {
    const b = collate([{ inputIds: [1, 2, 3], labels: [-100, 2, 3] }, { inputIds: [4] }], { padSide: 'left' });
    expect(await b.inputIds.toArray()).toEqual([
      [1, 2, 3],
      [0, 0, 4],
    ]);
    expect(await b.labels.toArray()).toEqual([
      [-100, 2, 3],
      [-100, -100, 4],
    ]);
    expect(await b.attentionMask.toArray()).toEqual([
      [1, 1, 1],
      [0, 0, 1],
    ]);
    expect(b.targets).toBe(3);
    disposeBatch(b);
    const f = collate([[1, 2, 3, 4]], { length: 2 });
    expect(await f.inputIds.toArray()).toEqual([[1, 2]]);
    disposeBatch(f);
  });

  it('sequence labels give i32 [B] labels', async () => {
    const b = collate([
      { inputIds: [1, 2], label: 1 },
      { inputIds: [3], label: 0 },
    ]);
    expect(b.labels.shape).toEqual([2]);
    expect(await b.labels.toArray()).toEqual([1, 0]);
    expect(b.targets).toBe(2);
    disposeBatch(b);
    expect(() => collate([{ inputIds: [1], label: 1 }, { inputIds: [2] }])).toThrow(/mix/);
    expect(() => collate([{ inputIds: [1, 2], labels: [1] }])).toThrow(/labels/);
  });
});

describe('shuffledOrder', () => {
  it('is a permutation, reproducible, different per epoch and per seed', () => {
    const a = shuffledOrder(50, 3, 0);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect([...shuffledOrder(50, 3, 0)]).toEqual([...a]);
    expect([...shuffledOrder(50, 3, 1)]).not.toEqual([...a]);
    expect([...shuffledOrder(50, 4, 0)]).not.toEqual([...a]);
    expect([...a]).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
  it('is roughly uniform: every element lands in every position across seeds', () => {
    const n = 4;
    const counts = Array.from({ length: n }, () => new Array(n).fill(0));
    for (let s = 0; s < 4000; s++) for (const [pos, v] of shuffledOrder(n, s, 0).entries()) counts[v][pos]++;
    for (const row of counts) for (const c of row) expect(Math.abs(c - 1000)).toBeLessThan(150);
  });
});

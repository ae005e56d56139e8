import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseShardIndex, SafetensorsReader, ShardedReader, serialize } from '../src/index.js';
import { loadFile, openCheckpoint, writeSafetensors, writeSharded } from '../src/node.js';
import { golden, rng } from './helpers.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'peftjs-st-sharded-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('sharded checkpoints (model.safetensors.index.json)', () => {
  it('writes a 2-shard checkpoint from a real model and reads every tensor back through the index', async () => {
    const src = SafetensorsReader.fromBytes(new Uint8Array(readFileSync(golden('base/llama/model.safetensors'))));
    const names = src.names();
    const total = names.reduce((s, n) => s + src.info(n).byteLength, 0);
    const dir = path.join(tmp, 'llama-2shards');
    mkdirSync(dir);
    // greedy sharding in name order: the first shard takes tensors until half the bytes, the rest fit in the second
    let half = 0;
    for (const n of names) {
      if (half >= total / 2) break;
      half += src.info(n).byteLength;
    }
    const res = await writeSharded(dir, new Map(names.map((n) => [n, src.rawSync(n)])), {
      maxShardSize: half,
      metadata: { format: 'pt' },
    });
    expect(res.files).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    expect(res.totalSize).toBe(total);
    const index = JSON.parse(readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8'));
    expect(index.metadata.total_size).toBe(total);
    expect(Object.keys(index.weight_map)).toEqual([...names].sort());
    expect(new Set(Object.values(index.weight_map))).toEqual(new Set(res.files));

    const r = await openCheckpoint(dir);
    try {
      expect(r).toBeInstanceOf(ShardedReader);
      const sr = r as ShardedReader;
      expect(sr.shards.size).toBe(2);
      expect(r.metadata).toEqual({ total_size: String(total) });
      expect(new Set(r.names())).toEqual(new Set(names));
      let inFirst = 0;
      for (const n of names) {
        expect(r.info(n).shape).toEqual(src.info(n).shape);
        expect((await r.raw(n)).bytes).toEqual(src.rawSync(n).bytes);
        expect((await r.read(n)).data).toEqual(src.readSync(n).data);
        if (sr.shardOf(n) === res.files[0]) inFirst++;
        // the shard really holds it, at its own offsets
        expect(sr.shardReader(n).header.tensors.has(n)).toBe(true);
      }
      expect(inFirst).toBeGreaterThan(0);
      expect(inFirst).toBeLessThan(names.length);
      expect(() => r.info('nope')).toThrow(/NOT_FOUND/);
    } finally {
      await r.close();
    }
    // also reachable through the index file itself, and as tensors
    const viaIndex = await openCheckpoint(path.join(dir, 'model.safetensors.index.json'));
    expect(viaIndex.names().length).toBe(names.length);
    await viaIndex.close();
    const tensors = await loadFile(dir, { names: ['lm_head.weight', 'model.norm.weight'] });
    expect(Object.keys(tensors).sort()).toEqual(['lm_head.weight', 'model.norm.weight']);
    expect(await tensors['lm_head.weight']!.data()).toEqual(src.readSync('lm_head.weight').data);
    for (const t of Object.values(tensors)) t.dispose();
  });

  it('hand-written index: any shard names, several shards, a missing shard is NOT_FOUND', async () => {
    const dir = path.join(tmp, 'hand');
    mkdirSync(dir);
    const rand = rng(7);
    const a = Float32Array.from({ length: 12 }, () => rand());
    const b = Int32Array.from({ length: 5 }, (_, i) => i * 3 - 4);
    await writeSafetensors(path.join(dir, 'part-a.safetensors'), { a: { shape: [3, 4], data: a } });
    await writeSafetensors(path.join(dir, 'part-b.safetensors'), {
      b: { shape: [5], data: b },
      extra: { shape: [1], data: [0] },
    });
    writeFileSync(
      path.join(dir, 'weights.safetensors.index.json'),
      JSON.stringify({
        metadata: { total_size: 68, note: 'x', nested: { k: 1 } },
        weight_map: { a: 'part-a.safetensors', b: 'part-b.safetensors' },
      }),
    );
    const r = await openCheckpoint(dir);
    expect(r.names()).toEqual(['a', 'b']); // the index is authoritative; 'extra' is not listed
    expect((await r.read('a')).data).toEqual(a);
    expect((await r.read('b')).data).toEqual(b);
    expect(r.metadata).toEqual({ total_size: '68', note: 'x' });
    expect((r as ShardedReader).index.metadata).toEqual({ total_size: 68, note: 'x', nested: { k: 1 } });
    await r.close();

    writeFileSync(
      path.join(dir, 'weights.safetensors.index.json'),
      JSON.stringify({ weight_map: { a: 'part-a.safetensors', c: 'part-c.safetensors' } }),
    );
    await expect(openCheckpoint(dir)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('parseShardIndex keeps order and distinct files', () => {
    const idx = parseShardIndex(
      new TextEncoder().encode(
        '{"metadata":null,"weight_map":{"x":"m-2.safetensors","y":"m-1.safetensors","z":"m-2.safetensors"}}',
      ),
    );
    expect(idx.files).toEqual(['m-2.safetensors', 'm-1.safetensors']);
    expect([...idx.weightMap.keys()]).toEqual(['x', 'y', 'z']);
    expect(idx.metadata).toBeNull();
  });

  it('ShardedReader.open works without a file system (browser-style shard opener)', async () => {
    const shards: Record<string, Uint8Array> = {
      's1.safetensors': serialize({ p: { shape: [2], data: [1, 2] } }),
      's2.safetensors': serialize({ q: { shape: [1], data: new Int32Array([9]) } }),
    };
    const idx = parseShardIndex(JSON.stringify({ weight_map: { p: 's1.safetensors', q: 's2.safetensors' } }));
    const r = await ShardedReader.open(idx, async (f) => SafetensorsReader.fromBytes(shards[f]!));
    expect(Array.from((await r.read('p')).data)).toEqual([1, 2]);
    expect(Array.from((await r.read('q')).data)).toEqual([9]);
  });

  it('a directory with several safetensors files and no index needs options.filename', async () => {
    const dir = path.join(tmp, 'several');
    mkdirSync(dir);
    await writeSafetensors(path.join(dir, 'one.safetensors'), { a: { shape: [1], data: [1] } });
    await writeSafetensors(path.join(dir, 'two.safetensors'), { b: { shape: [1], data: [2] } });
    await expect(openCheckpoint(dir)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    const r = await openCheckpoint(dir, { filename: 'two.safetensors' });
    expect(r.names()).toEqual(['b']);
    await r.close();
  });
});

// The browser checkpoint store (IndexedDB, over fake-indexeddb in Node) and the core Trainer resuming from it.
import { createHash } from 'node:crypto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { checkpointName, IndexedDbCheckpointStore, latestStoredCheckpoint, sha256Hex, Trainer } from '../src/index.js';
import { tinyData, tinyLoraLlama } from './helpers/tiny.js';

const store = (database = 'ck') => new IndexedDbCheckpointStore({ database, indexedDB: new IDBFactory() });

describe('sha256Hex (WebCrypto)', () => {
  it("equals node:crypto's SHA-256", async () => {
    const data = new Uint8Array(1000).map((_, i) => (i * 31 + 7) & 255);
    expect(await sha256Hex(data)).toBe(createHash('sha256').update(data).digest('hex'));
    expect(await sha256Hex(new Uint8Array())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});

describe('IndexedDbCheckpointStore', () => {
  it('writes, lists, reads, verifies, replaces and prunes checkpoints', async () => {
    const s = store();
    const id = await s.write(3, { 'state.json': '{"a":1}', 'dir/w.bin': new Uint8Array([1, 2, 3]) });
    expect(id).toBe(checkpointName(3));
    await s.write(1, { 'state.json': 'one' });
    expect((await s.list()).map((c) => c.step)).toEqual([1, 3]);
    expect(await s.verify(id)).toBe(true);
    expect([...(await s.read(id, 'dir/w.bin'))]).toEqual([1, 2, 3]);
    expect(new TextDecoder().decode(await s.read(id, 'checkpoint.json'))).toContain('"sha256"');
    await expect(s.read(id, 'nope')).rejects.toThrow(/has no file 'nope'/);
    // rewriting a step replaces the whole checkpoint (no stale files left)
    await s.write(3, { 'state.json': 'again' });
    await expect(s.read(id, 'dir/w.bin')).rejects.toThrow();
    expect(await s.verify(id)).toBe(true);
    expect(await s.prune(1)).toEqual([checkpointName(1)]);
    expect((await s.list()).map((c) => c.step)).toEqual([3]);
    await expect(s.write(4, { '../x': 'bad' })).rejects.toThrow(/bad file name/);
    await s.destroy();
  });

  it('a checkpoint whose file is corrupted or missing does not verify; the newest complete one is used', async () => {
    const factory = new IDBFactory();
    const s = new IndexedDbCheckpointStore({ database: 'c2', indexedDB: factory });
    await s.write(1, { 'a.bin': new Uint8Array([9]) });
    await s.write(2, { 'a.bin': new Uint8Array([7, 7]) });
    // flip a byte of step 2's file behind the store's back
    await s.close();
    await new Promise<void>((resolve, reject) => {
      const r = factory.open('c2', 1);
      r.onsuccess = () => {
        const tx = r.result.transaction('files', 'readwrite');
        tx.objectStore('files').put(new Uint8Array([7, 8]), `${checkpointName(2)}/a.bin`);
        tx.oncomplete = () => {
          r.result.close();
          resolve();
        };
        tx.onerror = () => reject(tx.error);
      };
    });
    expect(await s.verify(checkpointName(2))).toBe(false);
    expect(await s.verify(checkpointName(9))).toBe(false);
    expect((await latestStoredCheckpoint(s))?.step).toBe(1);
  });
});

describe('Trainer with an IndexedDB store', () => {
  const opts = { train: tinyData(16, 10), batchSize: 4, lr: 1e-2, seed: 3, progress: false as const };

  it('stopped after 3 of 6 steps and resumed from the store, it ends bit-identical to an uninterrupted run', async () => {
    const whole = tinyLoraLlama({ loraDropout: 0.1 });
    const full = await new Trainer({ ...opts, model: whole, maxSteps: 6 }).train();
    const wholeWeights = await weightsOf(whole);

    const s = store('resume');
    const first = tinyLoraLlama({ loraDropout: 0.1 });
    const stop = new AbortController();
    const part = await new Trainer({
      ...opts,
      model: first,
      maxSteps: 6,
      checkpointStore: s,
      checkpointEvery: 1,
      signal: stop.signal,
      callbacks: [{ onStepEnd: (i) => (i.step === 3 ? stop.abort() : undefined) }],
    }).train();
    expect(part.stoppedReason).toBe('aborted');
    expect(part.steps).toBe(3);
    expect(part.lastCheckpoint).toBe(checkpointName(3));

    const resumed = tinyLoraLlama({ loraDropout: 0.1 }); // the same base; adapter, optimizer, RNG from the store
    const rest = await new Trainer({ ...opts, model: resumed, maxSteps: 6, checkpointStore: s, resume: true }).train();
    expect(rest.resumedFrom).toBe(3);
    expect(rest.stoppedReason).toBe('completed');
    expect(rest.history.map((h) => h.loss)).toEqual(full.history.map((h) => h.loss));
    const got = await weightsOf(resumed);
    for (const [k, w] of Object.entries(wholeWeights)) expect(got[k], k).toEqual(w);
    expect(rest.peakRssBytes).toBeGreaterThan(0); // Node's RSS, found without the Node entry
  });

  it('refuses resume without a store', () => {
    expect(() => new Trainer({ ...opts, model: tinyLoraLlama(), resume: true })).toThrow(
      /resume needs checkpointStore/,
    );
  });
});

async function weightsOf(m: ReturnType<typeof tinyLoraLlama>): Promise<Record<string, Float32Array>> {
  const out: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(m.adapterStateDict())) out[k] = (await t.data()) as Float32Array;
  return out;
}

/**
 * The coefficient locations of the golden llama_waveft case: PEFT's `waveft_indices` (io.safetensors `indices.*`,
 * drawn by torch.randperm) must come out of our layers exactly, layer by layer, when the adapter is loaded.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromPretrained } from '@peftjs/models/node';
import { loadPeftModel } from '@peftjs/registry/node';
import { loadTensors } from '@peftjs/safetensors';
import { goldenRoot } from '@peftjs/test-utils';
import { describe, expect, it } from 'vitest';
import { WaveFTLayer } from '../src/index.js';

const root = goldenRoot();
const dir = join(root, 'llama_waveft');

describe.skipIf(!existsSync(dir))('golden llama_waveft: coefficient locations', () => {
  it('match indices.* exactly for every adapted layer', async () => {
    const io = await loadTensors(readFileSync(join(dir, 'io.safetensors')), {
      names: (n) => n.startsWith('indices.'),
    });
    const keys = Object.keys(io);
    expect(keys.length).toBeGreaterThan(0);
    const base = await fromPretrained(join(root, 'base', 'llama'));
    const peft = await loadPeftModel(base, join(dir, 'adapter'));
    const layers = new Map(peft.adapterLayers());
    expect(layers.size).toBe(keys.length);
    for (const key of keys) {
      const path = key.slice('indices.'.length).replace(/^base_model\.model\./, '');
      const layer = layers.get(path);
      expect(layer, path).toBeInstanceOf(WaveFTLayer);
      const { rows, cols } = (layer as WaveFTLayer).locations('default');
      const ref = await io[key].data();
      const n = rows.length;
      expect(io[key].shape).toEqual([2, n]);
      expect(Array.from(rows)).toEqual(Array.from(ref.subarray(0, n)));
      expect(Array.from(cols)).toEqual(Array.from(ref.subarray(n)));
    }
  });
});

/**
 * Saving and loading as PEFT does: the adapter PEFT saved after allocation (llama_adalora_allocate/end: tensors cut
 * to the kept triplets, rank_pattern in its config) loads into modules created at those ranks, computes what the
 * full-size masked parameters compute, saves back to the same files, and merges.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PreTrainedModel } from '@peftjs/models';
import { fromPretrained } from '@peftjs/models/node';
import { getPeftModel } from '@peftjs/registry';
import { loadPeftModel, readAdapterDir } from '@peftjs/registry/node';
import { noGrad, type Tensor, tensor } from '@peftjs/tensor';
import { goldenRoot, readF32 } from '@peftjs/test-utils';
import { describe, expect, it } from 'vitest';
import { type AdaLoraLayer, rankPatternOfConfig } from '../src/index.js';

const CASE = join(goldenRoot(), 'llama_adalora_allocate');
const base = (): Promise<PreTrainedModel> => fromPretrained(join(goldenRoot(), 'base', 'llama'), { tokenizer: false });
const ids = () => tensor([5, 17, 3, 99, 42, 7, 0, 64, 12, 8, 1, 2], [2, 6], { dtype: 'i32' });

function headerShapes(bytes: Uint8Array): Record<string, number[]> {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const h = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { shape: number[] }>;
  delete h.__metadata__;
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, v.shape]));
}

async function logits(m: { forward(i: { inputIds: Tensor }): { logits: Tensor } }): Promise<Float32Array> {
  const x = ids();
  const out = noGrad(() => m.forward({ inputIds: x }).logits);
  const d = (await out.data()) as Float32Array;
  out.dispose();
  x.dispose();
  return d;
}

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return m / Math.max(s, 1e-6);
}

describe("PEFT's resized AdaLoRA adapters", () => {
  it('load at the rank_pattern ranks (ranknum stays init_r) and compute what the full-size masked adapter computes', async () => {
    const endConfig = JSON.parse(readFileSync(join(CASE, 'end', 'adapter_config.json'), 'utf8'));
    const loaded = await loadPeftModel(await base(), join(CASE, 'end'));
    for (const [path, layer] of loaded.adapterLayers()) {
      const kept = endConfig.rank_pattern[`${path}.lora_E`] as boolean[];
      expect((layer as AdaLoraLayer).rank('default'), path).toBe(kept.filter(Boolean).length);
      // PEFT copies the original ranknum back only into modules that keep a triplet
      expect((layer as AdaLoraLayer).ranknum('default'), path).toBe(kept.some(Boolean) ? 6 : 0);
    }
    // the same adapter in training form: full-size tensors after the last step, cut triplets' E zero (io param.*)
    const full = getPeftModel(await base(), {
      ...JSON.parse(readFileSync(join(CASE, 'start', 'adapter_config.json'), 'utf8')),
      inference_mode: false,
    });
    const params = readF32(join(CASE, 'io.safetensors'));
    const state: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(params))
      if (k.startsWith('param.')) state[k.slice(6)] = tensor(v.data, v.shape);
    full.loadAdapterState(state);
    for (const t of Object.values(state)) t.dispose();
    full.eval();
    const ref = await logits(full);
    expect(maxRel(await logits(loaded), ref)).toBeLessThan(1e-5);

    // saved back: the same keys, shapes and rank_pattern as the files PEFT wrote
    const files = await loaded.toAdapterFiles();
    const peftFiles = await readAdapterDir(join(CASE, 'end'));
    expect(headerShapes(files.weights)).toEqual(headerShapes(peftFiles.weights));
    expect(files.config.rank_pattern).toEqual(endConfig.rank_pattern);
    expect(rankPatternOfConfig(loaded.peftConfig() as never)).toEqual(endConfig.rank_pattern);

    // and the full-size model saves the cut tensors once its config holds the pattern
    (full.peftConfig() as { rank_pattern?: unknown }).rank_pattern = endConfig.rank_pattern;
    expect(headerShapes((await full.toAdapterFiles()).weights)).toEqual(headerShapes(peftFiles.weights));

    // merge_and_unload of the resized adapter changes nothing in the outputs
    const merged = loaded.mergeAndUnload();
    expect(maxRel(await logits(merged as never), ref)).toBeLessThan(1e-5);
    merged.dispose();
    full.dispose();
  });
});

/**
 * The llama_dora case from the golden folder (PEFT 0.21, float64 reference): load PEFT's adapter files onto the
 * case's targeted Linear layers (base weights from base/llama), and compare what merging gives with the merged
 * weights PEFT wrote, the trainable-parameter count with PEFT's, and the layer forward with the float64 formula.
 */
import '../src/index.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoraLayer } from '@peftjs/lora';
import { Linear } from '@peftjs/nn';
import { tensor } from '@peftjs/tensor';
import { describe, expect, it } from 'vitest';
import { expectClose, f64, goldenRoot, rand, readF32, tree } from '@peftjs/test-utils';
import { doraMerged, doraRef, rowNorms } from './ref.js';
import { loadPeftModel } from '@peftjs/registry/node';

const CASE = 'llama_dora';

async function load() {
  const root = goldenRoot();
  const base = readF32(join(root, 'base', 'llama', 'model.safetensors'));
  const io = readF32(join(root, CASE, 'io.safetensors'));
  const adapter = readF32(join(root, CASE, 'adapter', 'adapter_model.safetensors'));
  const config = JSON.parse(readFileSync(join(root, CASE, 'adapter', 'adapter_config.json'), 'utf8'));
  const meta = JSON.parse(readFileSync(join(root, CASE, 'meta.json'), 'utf8'));
  const paths = Object.keys(io)
    .filter((k) => k.startsWith('merged.'))
    .map((k) => k.slice('merged.'.length, -'.weight'.length));
  const modules: Record<string, Linear> = {};
  for (const p of paths) {
    const w = base[`${p}.weight`];
    const lin = new Linear(w.shape[1], w.shape[0], { bias: false });
    lin.setParameter('weight', tensor(w.data, w.shape))?.dispose();
    modules[p] = lin;
  }
  const net = tree(modules);
  const peft = await loadPeftModel(net, join(root, CASE, 'adapter'), { isTrainable: true });
  return { net, peft, base, io, adapter, config, meta, paths };
}

describe(`golden ${CASE}`, () => {
  it("PEFT's files load; trainable parameters equal PEFT's count", async () => {
    const { peft, paths, config, meta } = await load();
    expect(config.use_dora).toBe(true);
    expect(paths).toHaveLength(14); // 7 projections × 2 layers
    expect(peft.countTrainable().trainable).toBe(meta.trainable_params);
  });

  it("merged weights equal PEFT's within 1e-4 (and the float64 formula reproduces them); unmerge restores", async () => {
    const { net, peft, base, io, adapter, config, paths } = await load();
    const s = config.lora_alpha / config.r;
    peft.merge();
    for (const p of paths) {
      const ref = io[`merged.${p}.weight`].data;
      const W = base[`${p}.weight`];
      const [outF, inF] = W.shape;
      const A = adapter[`base_model.model.${p}.lora_A.weight`].data;
      const B = adapter[`base_model.model.${p}.lora_B.weight`].data;
      const mag = adapter[`base_model.model.${p}.lora_magnitude_vector`].data;
      expectClose(doraMerged(W.data, A, B, mag, s, outF, config.r, inF), ref, 1e-4);
      expectClose((net.at(p) as LoraLayer).baseLayer.param('weight'), ref, 1e-4);
    }
    peft.unmerge();
    for (const p of paths)
      expectClose((net.at(p) as LoraLayer).baseLayer.param('weight'), base[`${p}.weight`].data, 1e-5);
  });

  it("each layer's forward equals the float64 DoRA formula with PEFT's trained adapter", async () => {
    const { net, base, adapter, config, paths } = await load();
    const s = config.lora_alpha / config.r;
    for (const p of paths.slice(0, 7)) {
      const W = base[`${p}.weight`];
      const [outF, inF] = W.shape;
      const A = adapter[`base_model.model.${p}.lora_A.weight`].data;
      const B = adapter[`base_model.model.${p}.lora_B.weight`].data;
      const mag = adapter[`base_model.model.${p}.lora_magnitude_vector`].data;
      // PEFT's magnitude is trained: it is not ‖W + sBA‖ any more
      const n = rowNorms(W.data, outF, inF);
      expect(Math.max(...mag.map((v, i) => Math.abs(v - n[i])))).toBeGreaterThan(1e-4);
      const xt = tensor(rand(3 * inF, 17), [3, inF]);
      const ref = doraRef({ x: f64(xt), m: 3, inF, outF, r: config.r, W: W.data, b: null, A, B, mag, s });
      expectClose(net.at(p).forward(xt), ref, 1e-5);
    }
  });
});

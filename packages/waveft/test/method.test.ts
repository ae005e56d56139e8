/**
 * WaveFT's config checks, proportional budgets (against PEFT's own allocation, test/fixtures/make_proportional.py),
 * forward / merge / unmerge on Linear and GPT-2 Conv1D (merged output = adapted output; unmerge restores W),
 * init_weights, several adapters, and the file format round trip.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromPretrained } from '@peftjs/models/node';
import { Conv1D, Linear } from '@peftjs/nn';
import { PeftModel } from '@peftjs/registry';
import { randn, relMaxError, tensor } from '@peftjs/tensor';
import { goldenRoot, rand, tree } from '@peftjs/test-utils';
import { describe, expect, it } from 'vitest';
import { getPeftModel, proportionalFrequencies, type WaveFTLayer, waveftPreset } from '../src/index.js';

const prop = JSON.parse(readFileSync(new URL('./fixtures/proportional.json', import.meta.url), 'utf8')) as Record<
  string,
  Record<string, number>
>;

describe('config', () => {
  const net = () => tree({ proj: new Linear(12, 10) });
  it('rejects what PEFT rejects, and what PEFT cannot run', () => {
    expect(() =>
      getPeftModel(net(), { peft_type: 'WAVEFT', target_modules: ['proj'], wavelet_family: 'haar' }),
    ).toThrow(/not supported/);
    expect(() =>
      getPeftModel(net(), { peft_type: 'WAVEFT', target_modules: ['proj'], wavelet_family: 'db20' }),
    ).toThrow(/no filters/);
    expect(() =>
      getPeftModel(net(), { peft_type: 'WAVEFT', target_modules: ['proj'], wavelet_family: 'coif5' }),
    ).toThrow(/48 taps/);
    expect(() => getPeftModel(net(), { peft_type: 'WAVEFT', target_modules: ['proj'], n_frequency: 121 })).toThrow(
      /exceeds the 10×12 = 120/,
    );
    expect(() => getPeftModel(net(), { peft_type: 'WAVEFT', target_modules: ['proj'], n_frequency: 0 })).toThrow(
      /positive integer/,
    );
  });
  it('n_frequency_pattern overrides per module', () => {
    const peft = getPeftModel(tree({ a: new Linear(8, 8), b: new Linear(8, 8) }), {
      peft_type: 'WAVEFT',
      target_modules: ['a', 'b'],
      n_frequency: 5,
      n_frequency_pattern: { b: 9 },
    });
    expect((peft.model.getSubmodule('a') as WaveFTLayer).nFrequency('default')).toBe(5);
    expect((peft.model.getSubmodule('b') as WaveFTLayer).nFrequency('default')).toBe(9);
  });
});

describe('proportional_parameters (PEFT allocation)', () => {
  it.skipIf(!existsSync(join(goldenRoot(), 'base', 'llama')))('tiny LLaMA, every linear layer', async () => {
    const base = await fromPretrained(join(goldenRoot(), 'base', 'llama'));
    const peft = getPeftModel(base, {
      peft_type: 'WAVEFT',
      n_frequency: 37,
      proportional_parameters: true,
      target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
    });
    const ours = Object.fromEntries(
      peft.adapterLayers().map(([p, l]) => [`${p}.waveft_spectrum.default`, (l as WaveFTLayer).nFrequency('default')]),
    );
    expect(ours).toEqual(prop.llama);
  });
  it('GPT-2 block dimensions', () => {
    const dims = [
      { path: 'transformer.h.0.attn.c_attn', inFeatures: 32, outFeatures: 96 },
      { path: 'transformer.h.0.attn.c_proj', inFeatures: 32, outFeatures: 32 },
      { path: 'transformer.h.0.mlp.c_fc', inFeatures: 32, outFeatures: 128 },
      { path: 'transformer.h.0.mlp.c_proj', inFeatures: 128, outFeatures: 32 },
    ];
    const ours = Object.fromEntries(
      [...proportionalFrequencies(dims, 50)].map(([p, n]) => [`${p}.waveft_spectrum.default`, n]),
    );
    expect(ours).toEqual(prop.gpt2);
  });
});

describe('forward, merge, unmerge', () => {
  for (const kind of ['Linear', 'Conv1D'] as const) {
    it(`${kind}: merged output = adapted output; unmerge restores W`, async () => {
      const layer = kind === 'Linear' ? new Linear(14, 10) : new Conv1D(14, 10);
      const net = tree({ proj: layer });
      const w0 = await layer.param('weight').data();
      const peft = getPeftModel(net, {
        peft_type: 'WAVEFT',
        target_modules: ['proj'],
        n_frequency: 30,
        wavelet_family: 'db2',
        scaling: 3,
        init_weights: false,
      });
      const wf = net.at('proj') as WaveFTLayer;
      const x = tensor(rand(4 * 14, 7), [4, 14]);
      const base = await layer.forward(x).data();
      const y = await wf.forward(x).data();
      expect(relMaxError(y, base)).toBeGreaterThan(1e-4); // init_weights false: ΔW ≠ 0
      // y − base = x·ΔWᵀ with ΔW [out, in] (also for Conv1D)
      const d = await wf.deltaOutIn('default').data();
      const xv = await x.data();
      const expected = Array.from({ length: 4 * 10 }, (_, i) => {
        const r = Math.floor(i / 10);
        const o = i % 10;
        let s = base[i];
        for (let k = 0; k < 14; k++) s += xv[r * 14 + k] * d[o * 14 + k];
        return s;
      });
      expect(relMaxError(y, expected)).toBeLessThan(1e-5);
      peft.merge();
      expect(relMaxError(await wf.forward(x).data(), y)).toBeLessThan(1e-5);
      peft.unmerge();
      expect(relMaxError(await layer.param('weight').data(), w0)).toBeLessThan(1e-6);
    });
  }

  it('init_weights: a zero spectrum, so the model is unchanged', async () => {
    const net = tree({ proj: new Linear(8, 6) });
    const x = randn([3, 8]);
    const before = await net.at('proj').forward(x).data();
    getPeftModel(net, { peft_type: 'WAVEFT', target_modules: ['proj'], n_frequency: 10 });
    expect(Array.from(await net.at('proj').forward(x).data())).toEqual(Array.from(before));
  });

  it('several adapters, each its own spectrum; files round-trip', async () => {
    const net = tree({ proj: new Linear(8, 6) });
    const peft = getPeftModel(net, {
      peft_type: 'WAVEFT',
      target_modules: ['proj'],
      n_frequency: 10,
      init_weights: false,
    });
    peft.addAdapter('other', { peft_type: 'WAVEFT', target_modules: ['proj'], n_frequency: 4, init_weights: false });
    const wf = net.at('proj') as WaveFTLayer;
    expect(wf.spectrum('other').shape).toEqual([4]);
    const x = randn([2, 8]);
    const yDefault = await wf.forward(x).data();
    const files = await peft.toAdapterFiles('default');
    expect(files.config.n_frequency).toBe(10);
    const fresh = tree({ proj: new Linear(8, 6) });
    fresh.at('proj').setParameter('weight', wf.baseLayer.param('weight').detach())?.dispose();
    fresh.at('proj').setParameter('bias', wf.baseLayer.param('bias').detach())?.dispose();
    const again = await PeftModel.fromAdapterFiles(fresh, files);
    expect(relMaxError(await again.model.at('proj').forward(x).data(), yDefault)).toBeLessThan(1e-6);
    peft.setAdapter('other');
    expect(relMaxError(await wf.forward(x).data(), yDefault)).toBeGreaterThan(1e-4);
  });

  it('the preset uses PEFT defaults', () => {
    const c = waveftPreset.config({ taskType: 'CAUSAL_LM' });
    expect(c).toMatchObject({ peft_type: 'WAVEFT', n_frequency: 2592, scaling: 25, wavelet_family: 'db1' });
  });
});
